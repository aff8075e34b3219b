//! `Var`: a tensor value plus, when tracked, its node on a graph.

use gradwork_tensor::Tensor;

use crate::error::{AutodiffError, Phase, Result};
use crate::graph::{Backward, Graph, Node, NodeId};
use crate::small::SmallList;

/// A value in a differentiable computation.
///
/// A `Var` made by [`Graph::leaf`] is *tracked*: every op applied to it (or to anything computed
/// from it) is recorded on the graph. A `Var` made by [`Var::constant`] records nothing, and ops
/// whose inputs are all untracked record nothing and cost nothing beyond the tensor kernel: this
/// is inference mode. Cloning a `Var` is cheap (the tensor's storage is shared).
#[derive(Clone)]
pub struct Var {
    value: Tensor,
    node: Option<(Graph, NodeId)>,
}

impl Var {
    /// An untracked value (a constant, or an input in inference mode).
    pub fn constant(value: Tensor) -> Self {
        Var { value, node: None }
    }

    pub(crate) fn tracked(value: Tensor, graph: Graph, id: NodeId) -> Self {
        Var {
            value,
            node: Some((graph, id)),
        }
    }

    /// The value.
    pub fn value(&self) -> &Tensor {
        &self.value
    }

    /// Consumes the variable and returns its value.
    pub fn into_value(self) -> Tensor {
        self.value
    }

    /// The value's shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// True when ops on this value are recorded.
    pub fn is_tracked(&self) -> bool {
        self.node.is_some()
    }

    /// The graph and node, when tracked.
    pub fn node(&self) -> Option<(&Graph, NodeId)> {
        self.node.as_ref().map(|(g, id)| (g, *id))
    }

    /// The graph this variable is recorded on, when tracked.
    pub fn graph(&self) -> Option<&Graph> {
        self.node.as_ref().map(|(g, _)| g)
    }

    /// The same value, untracked: gradients do not flow through the result.
    pub fn detach(&self) -> Var {
        Var::constant(self.value.clone())
    }

    /// Records an op with output `value` computed from `inputs`. `make_backward` is called only
    /// when at least one input is tracked, so untracked computation builds no closure and saves
    /// no tensors. This is the extension point for custom ops; test them with
    /// [`grad_check`](crate::grad_check()).
    ///
    /// ```
    /// use gradwork_autodiff::{Graph, Var};
    /// use gradwork_tensor::Tensor;
    ///
    /// // A custom op: y = 3x, with its gradient rule.
    /// fn triple(x: &Var) -> Var {
    ///     Var::from_op("triple", &[x], x.value().mul_scalar(3.0), || {
    ///         |g: &Tensor, _needs: &[bool]| Ok(vec![Some(g.mul_scalar(3.0))])
    ///     })
    ///     .unwrap()
    /// }
    /// let graph = Graph::new();
    /// let x = graph.leaf(Tensor::ones(&[2]));
    /// let grads = graph.backward(&triple(&x).sum_all()).unwrap();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![3.0, 3.0]);
    /// ```
    pub fn from_op<B: Backward + 'static>(
        name: &'static str,
        inputs: &[&Var],
        value: Tensor,
        make_backward: impl FnOnce() -> B,
    ) -> Result<Var> {
        let mut graph: Option<&Graph> = None;
        for input in inputs {
            if let Some((g, _)) = &input.node {
                match graph {
                    None => graph = Some(g),
                    Some(existing) if existing.same_as(g) => {}
                    Some(_) => return Err(AutodiffError::GraphMismatch { op: name }),
                }
            }
        }
        let Some(graph) = graph else {
            return Ok(Var::constant(value));
        };
        let input_shapes = if graph.anomaly_detection() {
            let shapes: Vec<Vec<usize>> = inputs.iter().map(|v| v.shape().to_vec()).collect();
            if !value.all_finite() {
                return Err(AutodiffError::Anomaly {
                    op: name,
                    phase: Phase::Forward,
                    input_shapes: shapes,
                });
            }
            Some(shapes)
        } else {
            None
        };
        let id = graph.push(Node {
            name,
            inputs: SmallList::from_fn(inputs.len(), |i| {
                inputs[i].node.as_ref().map(|(_, id)| *id)
            }),
            backward: Some(Box::new(make_backward())),
            shape: SmallList::from_slice(value.shape()),
            input_shapes,
        });
        Ok(Var::tracked(value, graph.clone(), id))
    }
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Var")
            .field("value", &self.value)
            .field("tracked", &self.is_tracked())
            .finish()
    }
}

impl From<Tensor> for Var {
    /// An untracked variable.
    fn from(value: Tensor) -> Self {
        Var::constant(value)
    }
}
