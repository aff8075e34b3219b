//! A damaged checkpoint is always refused with the right error, never a panic or a silent load;
//! an interrupted save never damages the previous checkpoint.

#[path = "common/ckpt.rs"]
mod ckpt;

use ckpt::{assert_same, sample_checkpoint};
use gradwork_nn::codec;
use gradwork_optim::{Checkpoint, OptimError, CHECKPOINT_MAGIC, CHECKPOINT_VERSION};
use gradwork_tensor::Rng;

#[test]
fn round_trip_is_lossless_and_bytes_are_deterministic() {
    let ckpt = sample_checkpoint();
    let bytes = ckpt.to_bytes().expect("encode");
    assert_eq!(&bytes[..4], CHECKPOINT_MAGIC);
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), CHECKPOINT_VERSION);
    let back = Checkpoint::from_bytes(&bytes).expect("decode");
    assert_same(&ckpt, &back);
    assert_eq!(back.to_bytes().expect("encode"), bytes);
    assert_eq!(sample_checkpoint().to_bytes().expect("encode"), bytes);
}

#[test]
fn truncation_at_every_length_is_refused_as_truncated() {
    let bytes = sample_checkpoint().to_bytes().expect("encode");
    for len in 0..bytes.len() {
        match Checkpoint::from_bytes(&bytes[..len]) {
            Err(OptimError::Truncated { actual, .. }) => assert_eq!(actual, len as u64),
            Err(e) => panic!("prefix of {len} bytes: wrong error {e}"),
            Ok(_) => panic!("prefix of {len} bytes loaded silently"),
        }
    }
}

#[test]
fn ten_thousand_single_bit_flips_are_refused() {
    let bytes = sample_checkpoint().to_bytes().expect("encode");
    let mut rng = Rng::seed_from(2026);
    for _ in 0..10_000 {
        let bit = rng.below(bytes.len() as u64 * 8) as usize;
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = match Checkpoint::from_bytes(&bad) {
            Err(e) => e,
            Ok(_) => panic!("flip of bit {bit} loaded silently"),
        };
        // Which check catches it depends only on where the bit is.
        let ok = match bit / 8 {
            0..=3 => matches!(err, OptimError::BadMagic { .. }),
            6..=13 => matches!(
                err,
                OptimError::Truncated { .. } | OptimError::TrailingBytes { .. }
            ),
            _ => matches!(err, OptimError::Checksum { .. }),
        };
        assert!(ok, "flip of bit {bit}: unexpected error {err}");
    }
}

#[test]
fn wrong_magic_newer_version_trailing_bytes_and_bad_payload_have_distinct_errors() {
    let bytes = sample_checkpoint().to_bytes().expect("encode");
    let state_dict_file = codec::encode(b"GWSD", 1, &0u32).expect("encode");
    assert!(matches!(
        Checkpoint::from_bytes(&state_dict_file),
        Err(OptimError::BadMagic { .. })
    ));
    let newer = codec::encode(CHECKPOINT_MAGIC, CHECKPOINT_VERSION + 1, &0u32).expect("encode");
    match Checkpoint::from_bytes(&newer) {
        Err(OptimError::NewerVersion {
            found, supported, ..
        }) => {
            assert_eq!(
                (found, supported),
                (CHECKPOINT_VERSION + 1, CHECKPOINT_VERSION)
            );
        }
        other => panic!("expected NewerVersion, got {other:?}"),
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Checkpoint::from_bytes(&longer),
        Err(OptimError::TrailingBytes { .. })
    ));
    let not_a_checkpoint =
        codec::encode(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, &"hello").expect("encode");
    assert!(matches!(
        Checkpoint::from_bytes(&not_a_checkpoint),
        Err(OptimError::Payload { .. })
    ));
}

#[test]
fn files_above_the_read_limit_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.gwck");
    let ckpt = sample_checkpoint();
    ckpt.save(&path).expect("save");
    let size = std::fs::metadata(&path).expect("metadata").len();
    match Checkpoint::load_with_limit(&path, size - 1) {
        Err(OptimError::TooLarge { size: s, limit, .. }) => {
            assert_eq!((s, limit), (size, size - 1))
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_same(
        &Checkpoint::load_with_limit(&path, size).expect("load"),
        &ckpt,
    );
    assert!(matches!(
        Checkpoint::load(dir.path().join("missing.gwck")),
        Err(OptimError::Io { .. })
    ));
}

#[test]
fn interrupted_saves_at_100_byte_counts_leave_the_previous_checkpoint_loadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.gwck");
    let old = sample_checkpoint();
    old.save(&path).expect("first save");
    let old_bytes = std::fs::read(&path).expect("read");

    let mut new = sample_checkpoint();
    new.meta.step = 8;
    new.extra.insert("note".into(), vec![7; 64]);
    let new_bytes = new.to_bytes().expect("encode");
    // The save writes a temporary file beside the target and renames it only when complete; a
    // crash (kill, power loss) can leave any prefix of that temporary file behind. Simulate 100
    // crash points spread over the whole file, at the temp name the writer uses and at another.
    let temps = [
        dir.path()
            .join(format!(".run.gwck.tmp-{}", std::process::id())),
        dir.path().join(".run.gwck.tmp-99999"),
    ];
    for i in 0..100 {
        let cut = i * new_bytes.len() / 100 + i % 7;
        let cut = cut.min(new_bytes.len() - 1);
        for tmp in &temps {
            std::fs::write(tmp, &new_bytes[..cut]).expect("partial write");
            assert!(
                Checkpoint::load(tmp).is_err(),
                "partial temp file of {cut} bytes loaded"
            );
        }
        let loaded = Checkpoint::load(&path).expect("previous checkpoint still loads");
        assert_same(&loaded, &old);
        assert_eq!(std::fs::read(&path).expect("read"), old_bytes);
    }
    // The next complete save replaces the stale temporary file and the checkpoint.
    new.save(&path).expect("second save");
    assert_same(&Checkpoint::load(&path).expect("load"), &new);
}

#[test]
fn a_failed_save_leaves_the_previous_checkpoint_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.gwck");
    let old = sample_checkpoint();
    old.save(&path).expect("save");
    // A directory squatting on the temporary name makes the write fail before any rename.
    let tmp = dir
        .path()
        .join(format!(".run.gwck.tmp-{}", std::process::id()));
    std::fs::create_dir(&tmp).expect("mkdir");
    let mut new = sample_checkpoint();
    new.meta.step = 99;
    assert!(matches!(new.save(&path), Err(OptimError::Io { .. })));
    assert_same(&Checkpoint::load(&path).expect("load"), &old);
}
