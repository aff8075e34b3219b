//! The IDX reader on hand-built files (header, magic, truncation, gzip) and the text utilities.

use std::io::Write;

use gradwork_data::{
    pad_or_truncate, read_idx, read_idx_from_reader, read_sst2_from_reader, tokenize_simple,
    CharCorpus, ImageLayout, Vocabulary, PAD_ID, UNK_ID,
};

/// An IDX file of unsigned bytes with the given dimensions and values, built by hand.
fn idx_bytes(dims: &[u32], values: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(values);
    out
}

#[test]
fn idx_images_come_out_flat_or_nchw_and_scaled_on_request() {
    let values: Vec<u8> = (0..12).map(|i| i * 20).collect();
    let array = read_idx_from_reader(&idx_bytes(&[3, 2, 2], &values)[..], None).unwrap();
    assert_eq!(array.dims, [3, 2, 2]);
    let flat = array.to_images(ImageLayout::Flat, false).unwrap();
    assert_eq!(flat.shape(), &[3, 4]);
    assert_eq!(
        flat.to_vec(),
        values.iter().map(|&v| v as f32).collect::<Vec<_>>()
    );
    let nchw = array.to_images(ImageLayout::Channels, true).unwrap();
    assert_eq!(nchw.shape(), &[3, 1, 2, 2]);
    assert_eq!(nchw.to_vec()[11], 220.0 / 255.0);
    assert!(array.to_labels().is_err(), "3-D data are not labels");
    let labels = read_idx_from_reader(&idx_bytes(&[4], &[3, 1, 4, 1])[..], None).unwrap();
    assert_eq!(labels.to_labels().unwrap(), [3, 1, 4, 1]);
}

#[test]
fn idx_errors_name_the_problem() {
    let check = |bytes: &[u8], needle: &str| {
        let err = read_idx_from_reader(bytes, None).unwrap_err().to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    };
    check(&[0, 0], "truncated: 2 of the 4 magic-number bytes");
    check(&[1, 0, 8, 1, 0, 0, 0, 0], "bad magic number 0x01000801");
    check(&[0, 0, 0x0d, 1, 0, 0, 0, 0], "element type 0x0d");
    check(&[0, 0, 8, 2, 0, 0, 0, 2], "truncated in the header: 4 of 8");
    check(
        &idx_bytes(&[2, 3], &[1, 2, 3, 4]),
        "need 6 data bytes, found 4",
    );
    check(&idx_bytes(&[2], &[1, 2, 3]), "trailing bytes");
    check(&[0, 0, 8, 0], "0 dimensions");
}

#[test]
fn gzipped_idx_files_are_decompressed_and_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels-idx1-ubyte.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&idx_bytes(&[3], &[7, 8, 9])).unwrap();
    gz.finish().unwrap();
    assert_eq!(read_idx(&path).unwrap().data, [7, 8, 9]);
    let bad = dir.path().join("bad-idx1-ubyte");
    std::fs::write(&bad, idx_bytes(&[5], &[1])).unwrap();
    let err = read_idx(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad-idx1-ubyte") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn vocabulary_ranks_by_frequency_then_token_with_pad_and_unk_first() {
    let vocab = Vocabulary::build(["b", "a", "c", "a", "b", "a", "d"], 1, None);
    assert_eq!(vocab.tokens(), ["<pad>", "<unk>", "a", "b", "c", "d"]);
    let limited = Vocabulary::build(["b", "a", "c", "a", "b", "a", "d"], 2, None);
    assert_eq!(limited.tokens(), ["<pad>", "<unk>", "a", "b"]);
    let capped = Vocabulary::build(["b", "a", "c", "a", "b", "a", "d"], 1, Some(3));
    assert_eq!(capped.tokens(), ["<pad>", "<unk>", "a"]);
    assert_eq!(capped.encode(&["a", "b"]), [2, UNK_ID]);
    let json = serde_json::to_string(&vocab).unwrap();
    assert_eq!(serde_json::from_str::<Vocabulary>(&json).unwrap(), vocab);
}

#[test]
fn padding_truncation_and_decoding() {
    assert_eq!(pad_or_truncate(&[5, 6, 7], 5, PAD_ID), [5, 6, 7, 0, 0]);
    assert_eq!(pad_or_truncate(&[5, 6, 7], 2, PAD_ID), [5, 6]);
    let vocab = Vocabulary::build(["x", "y"], 1, None);
    assert_eq!(vocab.decode(&[2, 0, 3, 99]), "x y <unk>");
    assert_eq!(
        tokenize_simple("It's GOOD, isn't it?"),
        ["it's", "good", ",", "isn't", "it", "?"]
    );
}

#[test]
fn char_corpus_round_trips_and_splits_by_position() {
    let text = "To be, or not to be: that is the question.";
    let corpus = CharCorpus::from_text(text);
    assert_eq!(corpus.vocabulary.decode_chars(&corpus.ids), text);
    let (train, validation) = corpus.split_at_fraction(0.9);
    assert_eq!(train.len(), (0.9 * text.len() as f64).floor() as usize);
    assert_eq!([train, validation].concat(), corpus.ids);
    assert_eq!(
        corpus.vocabulary.encode_chars("Z"),
        [UNK_ID],
        "unseen characters are <unk>"
    );
}

#[test]
fn sst2_reader_checks_header_labels_and_keeps_quotes() {
    let text = "sentence\tlabel\nit 's \"great\" \t1\nbad \t0\n";
    let rows = read_sst2_from_reader(text.as_bytes(), None).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].text, "it 's \"great\"");
    assert_eq!((rows[0].label, rows[1].label), (1, 0));
    let err = read_sst2_from_reader("sentence\tlabel\ngood\tx\n".as_bytes(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, column 2"), "{err}");
    let err = read_sst2_from_reader("index\tsentence\n0\tx\n".as_bytes(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1, column 1"), "{err}");
}
