//! The confusion matrix's printed table.

use gradwork_metrics::{confusion_matrix, Labels};

#[test]
fn confusion_matrix_prints_true_rows_and_predicted_columns() {
    let cm = confusion_matrix(&[0, 1, 1, 2], &[0, 2, 1, 2], &Labels::Inferred).unwrap();
    let text = cm.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["true\\pred", "0", "1", "2"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["1", "0", "1", "1"]
    );
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["2", "0", "0", "1"]
    );
}
