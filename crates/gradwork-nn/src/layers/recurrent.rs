//! Recurrent layers: [`Rnn`] (tanh or ReLU), [`Lstm`] and [`Gru`], batch-first and multi-layer,
//! with PyTorch's parameter names, layouts, gate orders and default initialisation.
//!
//! Every layer `l` holds `weight_ih_l{l} [G*H, in_l]`, `weight_hh_l{l} [G*H, H]`, `bias_ih_l{l}`
//! and `bias_hh_l{l}` (`[G*H]`, both added), with `G` = 1 (RNN), 4 (LSTM, gates i, f, g, o) or
//! 3 (GRU, gates r, z, n). The input projection `x W_ih^T + b_ih` of a layer is one matrix
//! product over all time steps; only `h W_hh^T` runs inside the time loop.

use gradwork_autodiff::Var;
use gradwork_tensor::{Rng, Tensor};

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::init;
use crate::module::{join_path, Module};
use crate::param::Param;

/// The cell a recurrent layer runs at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// `h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`.
    RnnTanh,
    /// `h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)`.
    RnnRelu,
    /// Long short-term memory, gates i, f, g, o.
    Lstm,
    /// Gated recurrent unit, gates r, z, n (the reset gate scales `h W_hn^T + b_hn`).
    Gru,
}

impl CellKind {
    /// The number of gate blocks `G` stacked in the weights' rows.
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "RNN",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }
}

/// An initial or final recurrent state, each `[num_layers, B, H]` (also with batch-first input).
#[derive(Debug, Clone)]
pub struct RecurrentState {
    /// The hidden state `h`.
    pub h: Var,
    /// The LSTM cell state `c` (`None` for RNN and GRU).
    pub c: Option<Var>,
}

/// What [`Lstm::forward_seq`] (and the RNN/GRU equivalents) return.
#[derive(Debug, Clone)]
pub struct RecurrentOutput {
    /// The last layer's hidden state at every step, `[B, T, H]`.
    pub output: Var,
    /// Every layer's hidden state after the last step, `[num_layers, B, H]`.
    pub h_n: Var,
    /// Every LSTM layer's cell state after the last step, `[num_layers, B, H]`; `None` otherwise.
    pub c_n: Option<Var>,
}

/// One layer's four parameters.
#[derive(Debug, Clone)]
struct LayerParams {
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Param,
    bias_hh: Param,
}

/// The shared implementation behind [`Rnn`], [`Lstm`] and [`Gru`].
#[derive(Debug, Clone)]
struct Recurrent {
    kind: CellKind,
    input_size: usize,
    hidden_size: usize,
    layers: Vec<LayerParams>,
    return_sequences: bool,
}

impl Recurrent {
    fn new(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        if input_size == 0 || hidden_size == 0 || num_layers == 0 {
            return Err(NnError::InvalidConfig {
                layer: kind.name(),
                reason: format!(
                    "input_size ({input_size}), hidden_size ({hidden_size}) and num_layers \
                     ({num_layers}) must all be positive"
                ),
            });
        }
        // PyTorch initialises every recurrent weight and bias with U(-1/sqrt(H), 1/sqrt(H)).
        let rows = kind.gates() * hidden_size;
        let layers = (0..num_layers)
            .map(|l| {
                let in_l = if l == 0 { input_size } else { hidden_size };
                let mut draw =
                    |shape: &[usize]| Param::new(init::pytorch_default(shape, hidden_size, rng));
                LayerParams {
                    weight_ih: draw(&[rows, in_l]),
                    weight_hh: draw(&[rows, hidden_size]),
                    bias_ih: draw(&[rows]),
                    bias_hh: draw(&[rows]),
                }
            })
            .collect();
        Ok(Recurrent {
            kind,
            input_size,
            hidden_size,
            layers,
            return_sequences: true,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}({} -> {}, {} layer(s))",
            self.kind.name(),
            self.input_size,
            self.hidden_size,
            self.layers.len()
        )
    }

    fn bad_input(&self, expected: String, got: &[usize]) -> NnError {
        NnError::BadInput {
            layer: self.describe(),
            expected,
            got: got.to_vec(),
        }
    }

    fn forward_with_params(
        &self,
        params: &[Var],
        input: &Var,
        initial: Option<&RecurrentState>,
    ) -> Result<RecurrentOutput> {
        let (num_layers, hidden) = (self.layers.len(), self.hidden_size);
        if params.len() != 4 * num_layers {
            return Err(self.bad_input(
                format!("{} parameter variables", 4 * num_layers),
                &[params.len()],
            ));
        }
        let shape = input.shape().to_vec();
        if shape.len() != 3 || shape[2] != self.input_size || shape[1] == 0 {
            return Err(self.bad_input(format!("[batch, time >= 1, {}]", self.input_size), &shape));
        }
        let (batch, steps) = (shape[0], shape[1]);
        let state_shape = [num_layers, batch, hidden];
        if let Some(state) = initial {
            if state.h.shape() != state_shape {
                return Err(self.bad_input(format!("h_0 {state_shape:?}"), state.h.shape()));
            }
            match (self.kind == CellKind::Lstm, &state.c) {
                (true, Some(c)) if c.shape() != state_shape => {
                    return Err(self.bad_input(format!("c_0 {state_shape:?}"), c.shape()));
                }
                (true, None) => {
                    return Err(self.bad_input("c_0 together with h_0".into(), &[]));
                }
                (false, Some(c)) => {
                    return Err(self.bad_input("no c_0 (only an LSTM has one)".into(), c.shape()));
                }
                _ => {}
            }
        }
        let zeros = Var::constant(Tensor::zeros(&[batch, hidden]));
        // The input, one variable per step. Each step's input projection is its own product,
        // so the backward pass hands every step its gradient directly: slicing one `[B, T, G*H]`
        // projection per step instead padded each step's gradient back to the full projection,
        // O(T^2) memory traffic per sequence.
        let mut step_inputs = (0..steps)
            .map(|t| input.try_select(1, t))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let (mut h_finals, mut c_finals) = (Vec::new(), Vec::new());
        for l in 0..num_layers {
            let p = &params[4 * l..4 * l + 4];
            let (mut h, mut c) = match initial {
                Some(state) => (
                    state.h.try_select(0, l)?,
                    match &state.c {
                        Some(c) => c.try_select(0, l)?,
                        None => zeros.clone(),
                    },
                ),
                None => (zeros.clone(), zeros.clone()),
            };
            let mut outputs = Vec::with_capacity(steps);
            for x in &step_inputs {
                let x_t = x.try_linear(&p[0], Some(&p[2]))?;
                let h_t = h.try_linear(&p[1], Some(&p[3]))?;
                (h, c) = self.cell(&x_t, &h_t, &h, &c)?;
                outputs.push(h.clone());
            }
            step_inputs = outputs;
            h_finals.push(h);
            c_finals.push(c);
        }
        Ok(RecurrentOutput {
            output: stack(&step_inputs, 1)?,
            h_n: stack(&h_finals, 0)?,
            c_n: match self.kind {
                CellKind::Lstm => Some(stack(&c_finals, 0)?),
                _ => None,
            },
        })
    }

    /// One step: `x_t` is `x W_ih^T + b_ih`, `h_t` is `h W_hh^T + b_hh`, both `[B, G*H]`.
    fn cell(&self, x_t: &Var, h_t: &Var, h: &Var, c: &Var) -> Result<(Var, Var)> {
        let hs = self.hidden_size;
        match self.kind {
            CellKind::RnnTanh => Ok((x_t.try_add(h_t)?.tanh(), c.clone())),
            CellKind::RnnRelu => Ok((x_t.try_add(h_t)?.relu(), c.clone())),
            CellKind::Lstm => {
                let gates = x_t.try_add(h_t)?;
                let i = gates.try_narrow(1, 0, hs)?.sigmoid();
                let f = gates.try_narrow(1, hs, hs)?.sigmoid();
                let g = gates.try_narrow(1, 2 * hs, hs)?.tanh();
                let o = gates.try_narrow(1, 3 * hs, hs)?.sigmoid();
                let c_next = f.try_mul(c)?.try_add(&i.try_mul(&g)?)?;
                let h_next = o.try_mul(&c_next.tanh())?;
                Ok((h_next, c_next))
            }
            CellKind::Gru => {
                let rz = x_t
                    .try_narrow(1, 0, 2 * hs)?
                    .try_add(&h_t.try_narrow(1, 0, 2 * hs)?)?
                    .sigmoid();
                let r = rz.try_narrow(1, 0, hs)?;
                let z = rz.try_narrow(1, hs, hs)?;
                let n = x_t
                    .try_narrow(1, 2 * hs, hs)?
                    .try_add(&r.try_mul(&h_t.try_narrow(1, 2 * hs, hs)?)?)?
                    .tanh();
                // h' = (1 - z) n + z h = n + z (h - n).
                let h_next = n.try_add(&z.try_mul(&h.try_sub(&n)?)?)?;
                Ok((h_next, c.clone()))
            }
        }
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (l, p) in self.layers.iter().enumerate() {
            f(&join_path(prefix, &format!("weight_ih_l{l}")), &p.weight_ih);
            f(&join_path(prefix, &format!("weight_hh_l{l}")), &p.weight_hh);
            f(&join_path(prefix, &format!("bias_ih_l{l}")), &p.bias_ih);
            f(&join_path(prefix, &format!("bias_hh_l{l}")), &p.bias_hh);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (l, p) in self.layers.iter_mut().enumerate() {
            f(
                &join_path(prefix, &format!("weight_ih_l{l}")),
                &mut p.weight_ih,
            );
            f(
                &join_path(prefix, &format!("weight_hh_l{l}")),
                &mut p.weight_hh,
            );
            f(&join_path(prefix, &format!("bias_ih_l{l}")), &mut p.bias_ih);
            f(&join_path(prefix, &format!("bias_hh_l{l}")), &mut p.bias_hh);
        }
    }
}

/// Every parameter of `module` as a variable (graph leaves in training), in visitor order.
pub(crate) fn bind_params(module: &dyn Module, cx: &mut Ctx) -> Vec<Var> {
    let mut vars = Vec::new();
    module.visit_params("", &mut |_, p| vars.push(cx.param(p)));
    vars
}

/// Stacks equally shaped variables along a new `axis`; the backward pass hands each input its
/// slice of the gradient.
pub(crate) fn stack(vars: &[Var], axis: usize) -> Result<Var> {
    let values: Vec<&Tensor> = vars.iter().map(Var::value).collect();
    let out = Tensor::try_stack(&values, axis)?;
    let inputs: Vec<&Var> = vars.iter().collect();
    let count = vars.len();
    Ok(Var::from_op("stack", &inputs, out, move || {
        move |g: &Tensor, needs: &[bool]| {
            (0..count)
                .map(|i| {
                    if needs[i] {
                        Ok(Some(g.try_select(axis, i)?.contiguous()))
                    } else {
                        Ok(None)
                    }
                })
                .collect()
        }
    })?)
}

macro_rules! recurrent_layer {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            inner: Recurrent,
        }

        impl $name {
            #[doc = concat!("A ", $label, " with PyTorch's default initialisation ",
                "`U(-1/sqrt(hidden), 1/sqrt(hidden))`; it returns sequences.")]
            pub fn new(
                input_size: usize,
                hidden_size: usize,
                num_layers: usize,
                rng: &mut Rng,
            ) -> Result<Self> {
                Ok($name {
                    inner: Recurrent::new($kind, input_size, hidden_size, num_layers, rng)?,
                })
            }

            /// Keras-style: [`Module::forward`] returns the whole sequence `[B, T, H]` (true,
            /// the default) or only the last step `[B, H]` (false).
            pub fn with_return_sequences(mut self, return_sequences: bool) -> Self {
                self.inner.return_sequences = return_sequences;
                self
            }

            /// The feature size of the input.
            pub fn input_size(&self) -> usize {
                self.inner.input_size
            }

            /// The hidden (and output) size.
            pub fn hidden_size(&self) -> usize {
                self.inner.hidden_size
            }

            /// The number of stacked layers.
            pub fn num_layers(&self) -> usize {
                self.inner.layers.len()
            }

            /// Runs the whole sequence `input [B, T, input_size]` from `initial` (zeros when
            /// `None`; states are `[num_layers, B, H]`) and returns the output sequence and the
            /// final states.
            pub fn forward_seq(
                &self,
                cx: &mut Ctx,
                input: &Var,
                initial: Option<&RecurrentState>,
            ) -> Result<RecurrentOutput> {
                let params = bind_params(self, cx);
                self.inner.forward_with_params(&params, input, initial)
            }

            /// [`Self::forward_seq`] with explicit parameter variables, in visitor order
            /// (`weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l1, ...`): for
            /// gradient checks and custom parameter handling.
            pub fn forward_seq_with_params(
                &self,
                params: &[Var],
                input: &Var,
                initial: Option<&RecurrentState>,
            ) -> Result<RecurrentOutput> {
                self.inner.forward_with_params(params, input, initial)
            }
        }

        impl Module for $name {
            fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
                let out = self.forward_seq(cx, input, None)?;
                if self.inner.return_sequences {
                    Ok(out.output)
                } else {
                    let last = out.h_n.shape()[0] - 1;
                    Ok(out.h_n.try_select(0, last)?)
                }
            }

            fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
                self.inner.visit(prefix, f);
            }

            fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
                self.inner.visit_mut(prefix, f);
            }

            fn describe(&self) -> String {
                self.inner.describe()
            }
        }
    };
}

recurrent_layer!(
    /// An Elman RNN with tanh (default) or ReLU, batch-first, multi-layer (PyTorch's `nn.RNN`).
    ///
    /// ```
    /// use gradwork_autodiff::Var;
    /// use gradwork_nn::{layers::Rnn, Ctx, Module};
    /// use gradwork_tensor::{Rng, Tensor};
    ///
    /// let mut rnn = Rnn::new(3, 5, 1, &mut Rng::seed_from(0)).unwrap();
    /// let y = rnn.forward(&mut Ctx::eval(), &Var::constant(Tensor::ones(&[2, 4, 3]))).unwrap();
    /// assert_eq!(y.shape(), &[2, 4, 5]);
    /// ```
    Rnn, CellKind::RnnTanh, "tanh RNN"
);

recurrent_layer!(
    /// A long short-term memory layer stack, batch-first (PyTorch's `nn.LSTM`, Keras' `LSTM`).
    ///
    /// ```
    /// use gradwork_autodiff::{Graph, Var};
    /// use gradwork_nn::{layers::Lstm, Ctx, Module};
    /// use gradwork_tensor::{Rng, Tensor};
    ///
    /// let mut rng = Rng::seed_from(0);
    /// let lstm = Lstm::new(3, 4, 2, &mut rng).unwrap();
    /// assert!(lstm.state_dict().get("weight_hh_l1").is_some());
    /// let graph = Graph::new();
    /// let mut cx = Ctx::train(&graph, rng);
    /// let out = lstm.forward_seq(&mut cx, &Var::constant(Tensor::ones(&[2, 6, 3])), None).unwrap();
    /// assert_eq!(out.output.shape(), &[2, 6, 4]);
    /// assert_eq!(out.h_n.shape(), &[2, 2, 4]);
    /// assert_eq!(out.c_n.unwrap().shape(), &[2, 2, 4]);
    /// ```
    Lstm, CellKind::Lstm, "LSTM"
);

recurrent_layer!(
    /// A gated recurrent unit layer stack, batch-first (PyTorch's `nn.GRU`).
    Gru, CellKind::Gru, "GRU"
);

impl Rnn {
    /// Uses ReLU instead of tanh (PyTorch's `nonlinearity="relu"`).
    pub fn with_relu(mut self) -> Self {
        self.inner.kind = CellKind::RnnRelu;
        self
    }
}
