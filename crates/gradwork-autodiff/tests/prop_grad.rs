//! Property tests: for every differentiable op, on random shapes (size-1 axes, broadcasting,
//! non-contiguous views) with inputs kept away from kinks, the gradient from the tape agrees
//! with central finite differences ([`gradwork_autodiff::grad_check`]).
//!
//! `every_op_has_a_gradient_test` ties the list of ops to these tests: it collects the op name
//! of every `check*("name", ...)` call in the files below and compares it with [`ALL_OPS`], which
//! must contain every name the crate records on its tape ([`gradwork_autodiff::OP_NAMES`]).

#[path = "prop_grad/binary.rs"]
mod binary;
#[path = "prop_grad/common.rs"]
mod common;
#[path = "prop_grad/conv.rs"]
mod conv;
#[path = "prop_grad/index.rs"]
mod index;
#[path = "prop_grad/loss.rs"]
mod loss;
#[path = "prop_grad/matmul.rs"]
mod matmul;
#[path = "prop_grad/reduce.rs"]
mod reduce;
#[path = "prop_grad/shape.rs"]
mod shape;
#[path = "prop_grad/unary.rs"]
mod unary;

use std::collections::BTreeSet;

use gradwork_autodiff::OP_NAMES;

/// Public ops that are compositions of recorded ops (they record their parts' names). They are
/// tested too, under these names.
const COMPOSITE_OPS: &[&str] = &[
    "sub_scalar",
    "div_scalar",
    "max_all",
    "min_all",
    "mean",
    "mean_axes",
    "flatten_from",
    "transpose",
    "t",
    "unsqueeze",
    "squeeze",
    "select",
    "split",
    "split_sizes",
    "chunk",
];

/// Every differentiable op: the recorded ones and the composites.
fn all_ops() -> BTreeSet<&'static str> {
    OP_NAMES.iter().chain(COMPOSITE_OPS).copied().collect()
}

/// The sources of the test files, scanned for the op names they check.
const SOURCES: &[&str] = &[
    include_str!("prop_grad/binary.rs"),
    include_str!("prop_grad/conv.rs"),
    include_str!("prop_grad/index.rs"),
    include_str!("prop_grad/loss.rs"),
    include_str!("prop_grad/matmul.rs"),
    include_str!("prop_grad/reduce.rs"),
    include_str!("prop_grad/shape.rs"),
    include_str!("prop_grad/unary.rs"),
];

/// The string literal that opens the argument list of each call of a function whose name starts
/// with `check` (`check("relu", ...)`, `check_unary(\n    "exp", ...)`).
fn checked_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = source.as_bytes();
    let mut from = 0;
    while let Some(found) = source[from..].find("check") {
        let start = from + found;
        from = start + 5;
        let word_start =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !word_start {
            continue;
        }
        let rest = &source[from..];
        let ident_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let Some(args) = rest[ident_len..].strip_prefix('(') else {
            continue;
        };
        let args = args.trim_start();
        if let Some(literal) = args.strip_prefix('"') {
            if let Some(end) = literal.find('"') {
                names.push(literal[..end].to_string());
            }
        }
    }
    names
}

#[test]
fn every_op_has_a_gradient_test() {
    let tested: BTreeSet<String> = SOURCES.iter().flat_map(|s| checked_names(s)).collect();
    let all = all_ops();
    let untested: Vec<&str> = all
        .iter()
        .copied()
        .filter(|op| !tested.contains(*op))
        .collect();
    assert!(
        untested.is_empty(),
        "ops without a gradient property test: {untested:?}"
    );
    let unknown: Vec<&String> = tested
        .iter()
        .filter(|op| !all.contains(op.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "tests check ops missing from the op lists: {unknown:?}"
    );
}

/// Skips leading arguments that are plain identifiers (`self, other, `) of a call.
fn skip_plain_arguments(mut args: &str) -> &str {
    loop {
        args = args.trim_start();
        let ident = args
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        match args[ident..].strip_prefix(',') {
            // `NAME` is the class losses' local name constant, resolved by the caller.
            Some(rest) if ident > 0 && !args.starts_with("NAME") => args = rest,
            _ => return args,
        }
    }
}

#[test]
fn the_op_list_names_every_op_the_crate_records() {
    // Every literal name the crate's sources pass to `Var::from_op` or to the helpers that
    // call it with their `name` argument.
    let sources = [
        include_str!("../src/ops/binary.rs"),
        include_str!("../src/ops/conv.rs"),
        include_str!("../src/ops/index.rs"),
        include_str!("../src/ops/join.rs"),
        include_str!("../src/ops/mask.rs"),
        include_str!("../src/ops/matmul.rs"),
        include_str!("../src/ops/reduce.rs"),
        include_str!("../src/ops/shape.rs"),
        include_str!("../src/ops/unary.rs"),
        include_str!("../src/loss.rs"),
    ];
    let mut recorded = BTreeSet::new();
    for source in sources {
        for marker in [
            "from_op(",
            "unary(",
            "elementwise_loss(",
            "extremum(",
            "select_between(",
        ] {
            let mut from = 0;
            while let Some(found) = source[from..].find(marker) {
                from += found + marker.len();
                let args = skip_plain_arguments(&source[from..]);
                if let Some(literal) = args.strip_prefix('"') {
                    recorded.insert(literal[..literal.find('"').unwrap()].to_string());
                } else if args.starts_with("NAME") {
                    // The class losses name themselves through a local `NAME` constant.
                    let before = &source[..from];
                    let decl = before
                        .rfind("const NAME: &str = \"")
                        .expect("a NAME constant");
                    let literal = &before[decl + "const NAME: &str = \"".len()..];
                    recorded.insert(literal[..literal.find('"').unwrap()].to_string());
                }
            }
        }
    }
    assert!(recorded.len() >= 40, "the scan found only {recorded:?}");
    let listed: BTreeSet<String> = OP_NAMES.iter().map(|s| s.to_string()).collect();
    let missing: Vec<&String> = recorded.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "ops recorded by the crate but missing from OP_NAMES: {missing:?}"
    );
    let stale: Vec<&String> = listed.difference(&recorded).collect();
    assert!(
        stale.is_empty(),
        "OP_NAMES entries no source records: {stale:?}"
    );
}
