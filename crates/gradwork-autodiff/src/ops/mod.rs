//! The differentiable ops, one concern per file; each op's forward and backward sit together.

mod binary;
mod conv;
mod index;
mod join;
mod mask;
mod matmul;
mod reduce;
mod shape;
mod unary;

use gradwork_tensor::Tensor;

use crate::error::Result;

/// The name of every op this crate records on the tape, one per gradient rule, as reported in
/// errors and by [`Graph::op_names`](crate::Graph::op_names). Ops that are compositions of these
/// (`mean`, `transpose`, `split`, `squeeze`, ...) record the names of their parts. Every entry has
/// a property test comparing its gradient with [`grad_check`](crate::grad_check()).
pub const OP_NAMES: &[&str] = &[
    // Elementwise, one input (unary.rs).
    "neg",
    "abs",
    "exp",
    "ln",
    "sqrt",
    "square",
    "recip",
    "powf",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "gelu",
    "gelu_tanh",
    "clamp",
    "sin",
    "cos",
    "add_scalar",
    "mul_scalar",
    // Elementwise, two inputs with broadcasting (binary.rs).
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    // Reductions and normalisations (reduce.rs).
    "sum_all",
    "mean_all",
    "sum",
    "sum_axes",
    "var",
    "max",
    "min",
    "logsumexp",
    "softmax",
    "log_softmax",
    // Matrix products (matmul.rs).
    "matmul",
    "linear",
    "linear_relu",
    // Shapes (shape.rs, join.rs).
    "reshape",
    "permute",
    "broadcast_to",
    "narrow",
    "pad",
    "concat",
    "stack",
    // Indexing and masks (index.rs, mask.rs).
    "index_select",
    "gather",
    "embedding",
    "where_cond",
    "dropout",
    // Images (conv.rs).
    "conv2d",
    "max_pool2d",
    "conv2d_max_pool2d",
    "avg_pool2d",
    // Losses (loss.rs).
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy_with_logits",
    "cross_entropy_with_probs",
    "nll_loss",
];

/// `grad` summed back to `shape` when `needed` (the backward of broadcasting), else `None`.
pub(crate) fn reduce_grad(grad: &Tensor, shape: &[usize], needed: bool) -> Result<Option<Tensor>> {
    if !needed {
        return Ok(None);
    }
    Ok(Some(grad.try_sum_to_shape(shape)?))
}
