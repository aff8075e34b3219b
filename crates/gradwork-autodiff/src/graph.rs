//! The tape: an arena of nodes in creation order (already a topological order), and the
//! non-recursive reverse sweep that turns it into gradients.

use std::cell::RefCell;
use std::rc::Rc;

use gradwork_tensor::Tensor;

use crate::error::{AutodiffError, Phase, Result};
use crate::small::SmallList;
use crate::var::Var;

/// The gradient rule of one recorded op.
///
/// Given the gradient of the loss with respect to the op's output, return one entry per op input:
/// the gradient with respect to that input (same shape as the input), or `None` when
/// `needs_grad[i]` is false or the input has no gradient. Any closure
/// `Fn(&Tensor, &[bool]) -> Result<Vec<Option<Tensor>>>` is a `Backward`.
pub trait Backward {
    /// Computes the input gradients from the output gradient.
    fn backward(&self, grad_output: &Tensor, needs_grad: &[bool]) -> Result<Vec<Option<Tensor>>>;
}

impl<F> Backward for F
where
    F: Fn(&Tensor, &[bool]) -> Result<Vec<Option<Tensor>>>,
{
    fn backward(&self, grad_output: &Tensor, needs_grad: &[bool]) -> Result<Vec<Option<Tensor>>> {
        self(grad_output, needs_grad)
    }
}

/// The position of a node on its graph's tape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) usize);

impl NodeId {
    /// The node's index on the tape (creation order).
    pub fn index(self) -> usize {
        self.0
    }
}

pub(crate) struct Node {
    pub(crate) name: &'static str,
    /// One entry per op input; `None` where that input was not tracked. Taken (emptied) when
    /// the node's backward runs.
    pub(crate) inputs: SmallList<Option<NodeId>, 3>,
    /// `None` for leaves, and for ops whose backward already ran.
    pub(crate) backward: Option<Box<dyn Backward>>,
    pub(crate) shape: SmallList<usize, 4>,
    /// The shapes of all inputs (tracked or not), kept only in anomaly mode to name them in
    /// reports; `None` otherwise, so ordinary recording allocates nothing for it.
    pub(crate) input_shapes: Option<Vec<Vec<usize>>>,
}

#[derive(Default)]
pub(crate) struct Tape {
    pub(crate) nodes: Vec<Node>,
    pub(crate) anomaly_detection: bool,
    pub(crate) differentiated: bool,
}

/// A recording of differentiable computation: create leaves on it, compute, then call
/// [`Graph::backward`]. Make a new graph for each training step; dropping it (and the variables
/// that refer to it) frees everything it recorded.
///
/// ```
/// use gradwork_autodiff::Graph;
/// use gradwork_tensor::Tensor;
///
/// let graph = Graph::new();
/// let x = graph.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]));
/// let loss = (&x * &x).sum_all(); // sum of squares
/// let grads = graph.backward(&loss).unwrap();
/// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
#[derive(Clone, Default)]
pub struct Graph {
    pub(crate) tape: Rc<RefCell<Tape>>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty graph in anomaly mode: every op's output and every gradient is checked for NaN
    /// and infinity, and the first op that produces one is reported by name with its input
    /// shapes. Costs a scan of every tensor; use it to debug, not to train.
    pub fn with_anomaly_detection() -> Self {
        let graph = Self::new();
        graph.tape.borrow_mut().anomaly_detection = true;
        graph
    }

    /// True in anomaly mode.
    pub fn anomaly_detection(&self) -> bool {
        self.tape.borrow().anomaly_detection
    }

    /// A tracked input: gradients will be computed for it.
    pub fn leaf(&self, value: Tensor) -> Var {
        let id = self.push(Node {
            name: "leaf",
            inputs: SmallList::default(),
            backward: None,
            shape: SmallList::from_slice(value.shape()),
            input_shapes: None,
        });
        Var::tracked(value, self.clone(), id)
    }

    /// The number of nodes recorded so far.
    pub fn len(&self) -> usize {
        self.tape.borrow().nodes.len()
    }

    /// The names of the recorded nodes in creation order (`"leaf"` for leaves): what the tape
    /// holds, for debugging and for tests that check an op records what it should.
    pub fn op_names(&self) -> Vec<&'static str> {
        self.tape.borrow().nodes.iter().map(|n| n.name).collect()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn push(&self, node: Node) -> NodeId {
        let mut tape = self.tape.borrow_mut();
        tape.nodes.push(node);
        NodeId(tape.nodes.len() - 1)
    }

    pub(crate) fn same_as(&self, other: &Graph) -> bool {
        Rc::ptr_eq(&self.tape, &other.tape)
    }

    /// Gradients of a one-element `output` (the loss) with respect to every leaf it depends on.
    pub fn backward(&self, output: &Var) -> Result<Gradients> {
        if output.value().numel() != 1 {
            return Err(AutodiffError::NotScalar {
                shape: output.shape().to_vec(),
            });
        }
        let seed = Tensor::ones(output.shape());
        self.backward_with(output, seed)
    }

    /// Gradients of `sum(output * grad_output)` with respect to every leaf: backward from a
    /// non-scalar output with an explicit output gradient (PyTorch's `y.backward(g)`).
    ///
    /// The sweep visits nodes in reverse creation order with a loop (no recursion, so a chain of
    /// any length is fine), accumulates each node's gradient over its uses in a fixed order, and
    /// releases each op's saved tensors as soon as its backward has run.
    pub fn backward_with(&self, output: &Var, grad_output: Tensor) -> Result<Gradients> {
        let root = match output.node() {
            Some((graph, id)) if graph.same_as(self) => id,
            Some(_) => return Err(AutodiffError::GraphMismatch { op: "backward" }),
            None => return Err(AutodiffError::Untracked),
        };
        if grad_output.shape() != output.shape() {
            return Err(AutodiffError::GradShape {
                op: "backward",
                expected: output.shape().to_vec(),
                got: grad_output.shape().to_vec(),
            });
        }
        let mut tape = self.tape.borrow_mut();
        if tape.differentiated {
            return Err(AutodiffError::AlreadyDifferentiated);
        }
        tape.differentiated = true;
        let anomaly = tape.anomaly_detection;
        let mut grads: Vec<Option<Tensor>> = vec![None; root.0 + 1];
        grads[root.0] = Some(grad_output);
        for index in (0..=root.0).rev() {
            let node = &mut tape.nodes[index];
            let Some(backward) = node.backward.take() else {
                continue; // a leaf: its gradient stays in `grads`
            };
            let Some(grad) = grads[index].take() else {
                continue; // the loss does not depend on this node
            };
            let name = node.name;
            // The node is done after this: take its inputs rather than copy them.
            let inputs = std::mem::take(&mut node.inputs);
            let inputs = inputs.as_slice();
            let mut needs_inline = [false; 8];
            let needs_heap: Vec<bool>;
            let needs: &[bool] = if inputs.len() <= needs_inline.len() {
                for (need, input) in needs_inline.iter_mut().zip(inputs) {
                    *need = input.is_some();
                }
                &needs_inline[..inputs.len()]
            } else {
                needs_heap = inputs.iter().map(Option::is_some).collect();
                &needs_heap
            };
            let input_grads = backward.backward(&grad, needs)?;
            drop(backward);
            drop(grad);
            for (slot, input_grad) in inputs.iter().zip(input_grads) {
                let (Some(input), Some(input_grad)) = (slot, input_grad) else {
                    continue;
                };
                let expected = tape.nodes[input.0].shape.as_slice();
                if input_grad.shape() != expected {
                    return Err(AutodiffError::GradShape {
                        op: name,
                        expected: expected.to_vec(),
                        got: input_grad.shape().to_vec(),
                    });
                }
                if anomaly && !input_grad.all_finite() {
                    return Err(AutodiffError::Anomaly {
                        op: name,
                        phase: Phase::Backward,
                        input_shapes: tape.nodes[index].input_shapes.clone().unwrap_or_default(),
                    });
                }
                let entry = &mut grads[input.0];
                *entry = Some(match entry.take() {
                    None => input_grad,
                    Some(existing) => accumulate(existing, &input_grad),
                });
            }
        }
        Ok(Gradients {
            tape: Rc::downgrade(&self.tape),
            grads,
        })
    }
}

/// `sum + grad` (equal shapes), written into `sum`'s buffer when it owns it: the same bits as
/// `sum.add(grad)` without a new allocation.
fn accumulate(mut sum: Tensor, grad: &Tensor) -> Tensor {
    match grad.as_slice() {
        Some(g) => {
            for (s, g) in sum.data_mut().iter_mut().zip(g) {
                *s += g;
            }
            sum
        }
        None => sum.add(grad),
    }
}

/// The gradients computed by [`Graph::backward`], looked up by the leaf variable.
pub struct Gradients {
    tape: std::rc::Weak<RefCell<Tape>>,
    grads: Vec<Option<Tensor>>,
}

impl Gradients {
    /// The gradient of the loss with respect to `var`, or `None` when `var` is not a leaf of this
    /// graph or the loss does not depend on it.
    pub fn get(&self, var: &Var) -> Option<&Tensor> {
        let (graph, id) = var.node()?;
        let same = self
            .tape
            .upgrade()
            .is_some_and(|tape| Rc::ptr_eq(&tape, &graph.tape));
        if !same {
            return None;
        }
        self.grads.get(id.0)?.as_ref()
    }

    /// The gradient with respect to `var`, or zeros of its shape when the loss does not depend on it.
    pub fn get_or_zeros(&self, var: &Var) -> Tensor {
        self.get(var)
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(var.shape()))
    }

    /// Removes and returns the gradient for `var` (avoids a copy when it is the only reference).
    pub fn take(&mut self, var: &Var) -> Option<Tensor> {
        let (_, id) = var.node()?;
        self.get(var)?;
        self.grads.get_mut(id.0)?.take()
    }
}
