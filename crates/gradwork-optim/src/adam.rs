//! Adam (coupled L2 weight decay, optional AMSGrad) and AdamW (decoupled weight decay), as
//! PyTorch's single-tensor implementation computes them in f32.
//!
//! Rounding: PyTorch's CPU kernels for `add(x, alpha)`, `addcmul` and `lerp` compute
//! `a + s*b` in a scalar loop that the compiler fuses into one multiply-add, so the code below
//! uses a fused multiply-add (`crate::fma`, exactly rounded and fast) at exactly those places;
//! with it SGD reproduces torch's f32 run bit for bit.
//!
//! Speed: a first moment that has decayed to a subnormal (a parameter whose gradient has been
//! zero for hundreds of steps) would make the final divide 2-3x slower on some CPUs; the loops
//! skip that divide where it provably cannot change the parameter (`crate::tiny_moment`).

use gradwork_nn::{Module, ParamGrads};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use gradwork_tensor::simd::FusedKernel;

use crate::fma::{lerp_near_end, lerp_near_start, run_update, split_opt, MulAdd, SplitKernel};
use crate::optimizer::{
    check_range, kind_error, Optimizer, OptimizerConfig, OptimizerState, Slots,
};
use crate::tiny_moment::Unmovable;

/// Adam/AdamW hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment (`betas[0]`).
    pub beta1: f64,
    /// Decay of the second moment (`betas[1]`).
    pub beta2: f64,
    /// Added to the bias-corrected `sqrt(v)` (outside the square root).
    pub eps: f64,
    /// Weight decay: an L2 term in the gradient (Adam) or a decoupled shrink (AdamW).
    pub weight_decay: f64,
    /// Use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl AdamConfig {
    /// PyTorch's `Adam` defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.
    pub fn adam() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
        }
    }

    /// PyTorch's `AdamW` defaults: as [`AdamConfig::adam`] with weight decay 0.01.
    pub fn adamw() -> Self {
        AdamConfig {
            weight_decay: 0.01,
            ..Self::adam()
        }
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self::adam()
    }
}

/// Adam or AdamW. Per element at step `t` (from 1), in f32:
/// AdamW first shrinks `p *= 1 - lr*wd`; Adam instead adds `wd*p` to `g`. Then
/// `m = lerp(m, g, 1-β1)`, `v = β2 v + (1-β2) g²`,
/// `p -= lr/(1-β1^t) * m / (sqrt(v)/sqrt(1-β2^t) + eps)` (with AMSGrad, `v` is replaced by its
/// running maximum). The bias corrections are computed in f64, as PyTorch does in Python.
///
/// The source articles' worked example (one step, lr 0.01):
/// ```
/// use gradwork_nn::{Ctx, Module, Param, ParamGrads};
/// use gradwork_optim::{Adam, AdamConfig, Optimizer};
/// use gradwork_tensor::Tensor;
/// # struct One(Param);
/// # impl Module for One {
/// #     fn forward(&mut self, cx: &mut Ctx, _x: &gradwork_autodiff::Var) -> gradwork_nn::Result<gradwork_autodiff::Var> { Ok(cx.param(&self.0)) }
/// #     fn visit_params(&self, p: &str, f: &mut dyn FnMut(&str, &Param)) { f(&gradwork_nn::join_path(p, "theta"), &self.0) }
/// #     fn visit_params_mut(&mut self, p: &str, f: &mut dyn FnMut(&str, &mut Param)) { f(&gradwork_nn::join_path(p, "theta"), &mut self.0) }
/// # }
/// let mut model = One(Param::new(Tensor::from_vec(vec![0.5, -1.0], &[2])));
/// let mut grads = ParamGrads::default();
/// grads.insert(&model.0, Tensor::from_vec(vec![-0.1, 0.2], &[2]));
/// let mut adam = Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::adam() }).unwrap();
/// adam.step(&mut model, &grads).unwrap();
/// assert_eq!(model.0.value().to_vec(), vec![0.51, -1.01]);
/// ```
#[derive(Debug, Clone)]
pub struct Adam {
    config: AdamConfig,
    decoupled: bool,
    slots: Slots,
}

const KNOWN: &[&str] = &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

impl Adam {
    /// Adam with coupled (L2) weight decay.
    pub fn new(config: AdamConfig) -> Result<Self> {
        validate("Adam", &config)?;
        Ok(Adam {
            config,
            decoupled: false,
            slots: Slots::default(),
        })
    }

    /// AdamW: Adam with decoupled weight decay.
    pub fn new_decoupled(config: AdamConfig) -> Result<Self> {
        validate("AdamW", &config)?;
        Ok(Adam {
            config,
            decoupled: true,
            slots: Slots::default(),
        })
    }

    fn kind(&self) -> &'static str {
        if self.decoupled {
            "AdamW"
        } else {
            "Adam"
        }
    }
}

fn validate(what: &'static str, c: &AdamConfig) -> Result<()> {
    check_range(what, "lr", c.lr, 0.0, f64::MAX)?;
    check_range(what, "beta1", c.beta1, 0.0, 1.0 - f64::EPSILON)?;
    check_range(what, "beta2", c.beta2, 0.0, 1.0 - f64::EPSILON)?;
    check_range(what, "eps", c.eps, 0.0, f64::MAX)?;
    check_range(what, "weight_decay", c.weight_decay, 0.0, f64::MAX)
}

/// One parameter's Adam update over whole buffers (see [`run_fused`]).
struct AdamKernel<'a> {
    p: &'a mut [f32],
    grad: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    /// AMSGrad's running maximum of `v`.
    vmax: Option<&'a mut [f32]>,
    /// -1 to maximise, else 1 (an exact negation).
    grad_sign: f32,
    /// L2 penalty added to the gradient (Adam), when not zero.
    coupled_decay: Option<f32>,
    /// Factor applied to the parameter first (AdamW: `1 - lr * weight_decay`), when decaying.
    decoupled_shrink: Option<f32>,
    w1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bias2_sqrt: f32,
    neg_step_size: f32,
    eps: f32,
}

impl SplitKernel for AdamKernel<'_> {
    fn len(&self) -> usize {
        self.p.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p1, p2) = self.p.split_at_mut(mid);
        let (g1, g2) = self.grad.split_at(mid);
        let (m1, m2) = self.m.split_at_mut(mid);
        let (v1, v2) = self.v.split_at_mut(mid);
        let (x1, x2) = split_opt(self.vmax, mid);
        let left = AdamKernel {
            p: p1,
            grad: g1,
            m: m1,
            v: v1,
            vmax: x1,
            ..self
        };
        let right = AdamKernel {
            p: p2,
            grad: g2,
            m: m2,
            v: v2,
            vmax: x2,
            ..left
        };
        (left, right)
    }
}

impl AdamKernel<'_> {
    /// The element loops, given how the gradient is read (`grad_at(g, p)`) and how the first
    /// moment moves (`first_moment(m, g)`). Each option is a closure fixed before the loop, so
    /// every instance is a branch-free loop that vectorises; left inside the loop, the compiler
    /// kept a test and a branch per vector for each (it does not unswitch them).
    #[inline(always)]
    fn elements<F: MulAdd>(
        &mut self,
        grad_at: impl Fn(f32, f32) -> f32,
        first_moment: impl Fn(f32, f32) -> f32,
    ) {
        let n = self.p.len();
        let (p, grad) = (&mut self.p[..n], &self.grad[..n]);
        let (m, v) = (&mut self.m[..n], &mut self.v[..n]);
        let (beta2, omb2) = (self.beta2, self.one_minus_beta2);
        let (bias2_sqrt, neg_step, eps) = (self.bias2_sqrt, self.neg_step_size, self.eps);
        let unmovable = Unmovable::for_step(neg_step, eps);
        match self.vmax.as_deref_mut() {
            None => {
                for i in 0..n {
                    let (pi, g) = (p[i], grad_at(grad[i], p[i]));
                    let mi = first_moment(m[i], g);
                    let vi = F::mul_add(omb2 * g, g, v[i] * beta2);
                    let denom = vi.sqrt() / bias2_sqrt + eps;
                    (m[i], v[i]) = (mi, vi);
                    p[i] = unmovable.apply(pi, mi, denom, neg_step);
                }
            }
            Some(vmax) => {
                let vmax = &mut vmax[..n];
                for i in 0..n {
                    let (pi, g) = (p[i], grad_at(grad[i], p[i]));
                    let mi = first_moment(m[i], g);
                    let vi = F::mul_add(omb2 * g, g, v[i] * beta2);
                    let vmax_i = vmax[i].max(vi);
                    let denom = vmax_i.sqrt() / bias2_sqrt + eps;
                    (m[i], v[i], vmax[i]) = (mi, vi, vmax_i);
                    p[i] = unmovable.apply(pi, mi, denom, neg_step);
                }
            }
        }
    }
}

impl FusedKernel for AdamKernel<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        if let Some(shrink) = self.decoupled_shrink {
            self.p.iter_mut().for_each(|x| *x *= shrink);
        }
        let (sign, w1) = (self.grad_sign, self.w1);
        // `lerp` picks its formula by the weight; deciding it here keeps the loops branch-free.
        let near_start = w1.abs() < 0.5;
        match (self.coupled_decay, near_start) {
            (None, true) => {
                self.elements::<F>(|g, _| g * sign, |m, g| lerp_near_start::<F>(m, g, w1))
            }
            (None, false) => self.elements::<F>(|g, _| g * sign, |m, g| lerp_near_end(m, g, w1)),
            (Some(wd), true) => self.elements::<F>(
                |g, p| F::mul_add(wd, p, g * sign),
                |m, g| lerp_near_start::<F>(m, g, w1),
            ),
            (Some(wd), false) => self.elements::<F>(
                |g, p| F::mul_add(wd, p, g * sign),
                |m, g| lerp_near_end(m, g, w1),
            ),
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()> {
        let c = &self.config;
        let decoupled = self.decoupled;
        // PyTorch passes the Python float `1 - beta1` (an f64) to `lerp_`, which rounds it to f32
        // (0.1f32 for beta1 0.9); the worked example's stored exp_avg bits confirm this order.
        let w1 = (1.0 - c.beta1) as f32;
        let beta2 = c.beta2 as f32;
        let one_minus_beta2 = (1.0 - c.beta2) as f32;
        let wd = c.weight_decay as f32;
        let shrink = (1.0 - c.lr * c.weight_decay) as f32;
        let eps = c.eps as f32;
        self.slots.apply(model, grads, |p, grad, slot| {
            let t = slot.step as f64;
            let bias1 = 1.0 - c.beta1.powf(t);
            let bias2_sqrt = ((1.0 - c.beta2.powf(t)).sqrt()) as f32;
            let neg_step_size = (-(c.lr / bias1)) as f32;
            let n = p.len();
            let mut m = slot.take_or_zeros("exp_avg", n);
            let mut v = slot.take_or_zeros("exp_avg_sq", n);
            let mut vmax = c.amsgrad.then(|| slot.take_or_zeros("max_exp_avg_sq", n));
            let decays = c.weight_decay != 0.0;
            run_update(AdamKernel {
                p,
                grad,
                m: &mut m,
                v: &mut v,
                vmax: vmax.as_deref_mut(),
                grad_sign: if c.maximize { -1.0 } else { 1.0 },
                coupled_decay: (decays && !decoupled).then_some(wd),
                decoupled_shrink: (decays && decoupled).then_some(shrink),
                w1,
                beta2,
                one_minus_beta2,
                bias2_sqrt,
                neg_step_size,
                eps,
            });
            slot.put("exp_avg", m);
            slot.put("exp_avg_sq", v);
            if let Some(vm) = vmax {
                slot.put("max_exp_avg_sq", vm);
            }
        })
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn config(&self) -> OptimizerConfig {
        if self.decoupled {
            OptimizerConfig::AdamW(self.config.clone())
        } else {
            OptimizerConfig::Adam(self.config.clone())
        }
    }

    fn state(&self) -> OptimizerState {
        self.slots.to_state(self.config())
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        let config = match (&state.config, self.decoupled) {
            (OptimizerConfig::Adam(c), false) | (OptimizerConfig::AdamW(c), true) => c,
            _ => return Err(kind_error(self.kind(), state)),
        };
        validate(self.kind(), config)?;
        let slots = Slots::from_state(state, KNOWN)?;
        self.config = config.clone();
        self.slots = slots;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::AdamKernel;
    use crate::fma::{fma, lerp, run_fused, run_update, test_values, Emulated};
    use gradwork_tensor::simd::FusedKernel;

    /// The update written the plain way, one element at a time, as PyTorch's single-tensor
    /// Adam states it: the reference for the kernel's specialised loops.
    #[allow(clippy::too_many_arguments)]
    fn textbook_step(
        p: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        mut vmax: Option<&mut [f32]>,
        sign: f32,
        decay: Option<f32>,
        w1: f32,
    ) {
        let (beta2, omb2, bias2_sqrt, neg_step, eps) = (0.999, 0.001, 0.03, -0.01, 1e-8);
        for i in 0..p.len() {
            let mut g = grad[i] * sign;
            if let Some(wd) = decay {
                g = fma(wd, p[i], g);
            }
            m[i] = lerp::<Emulated>(m[i], g, w1);
            v[i] = fma(omb2 * g, g, v[i] * beta2);
            let second = match vmax.as_deref_mut() {
                Some(vmax) => {
                    vmax[i] = vmax[i].max(v[i]);
                    vmax[i]
                }
                None => v[i],
            };
            let denom = second.sqrt() / bias2_sqrt + eps;
            p[i] += neg_step * m[i] / denom;
        }
    }

    /// Every specialised loop (gradient sign and L2 decay, both `lerp` formulas, AMSGrad) gives
    /// the textbook step's bits, including on first moments that are or become subnormal (where
    /// the kernel skips the slow divide) and on parameters too small for that shortcut.
    #[test]
    fn every_specialised_loop_matches_the_textbook_step() {
        let n = 1003;
        let grad: Vec<f32> = test_values(n, 31)
            .iter()
            .enumerate()
            .map(|(i, &g)| if i % 3 == 0 { 0.0 } else { g })
            .collect();
        let p0: Vec<f32> = test_values(n, 32)
            .iter()
            .enumerate()
            .map(|(i, &p)| if i % 7 == 0 { p * 1e-30 } else { p })
            .collect();
        let m0: Vec<f32> = test_values(n, 33)
            .iter()
            .enumerate()
            .map(|(i, &m)| if i % 2 == 0 { m * 1e-37 } else { m })
            .collect();
        let v0: Vec<f32> = test_values(n, 34).iter().map(|x| x * x).collect();
        assert!(m0.iter().filter(|m| m.is_subnormal()).count() > n / 10);
        for w1 in [0.1f32, 0.7] {
            for (sign, decay) in [(1.0, None), (-1.0, Some(0.01f32))] {
                for amsgrad in [false, true] {
                    let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
                    let mut vmax: Vec<f32> = v0.iter().map(|x| x * 1.5).collect();
                    let (mut rp, mut rm, mut rv, mut rvmax) =
                        (p0.clone(), m0.clone(), v0.clone(), vmax.clone());
                    for _ in 0..3 {
                        run_fused(&mut AdamKernel {
                            p: &mut p,
                            grad: &grad,
                            m: &mut m,
                            v: &mut v,
                            vmax: amsgrad.then_some(&mut vmax[..]),
                            grad_sign: sign,
                            coupled_decay: decay,
                            decoupled_shrink: None,
                            w1,
                            beta2: 0.999,
                            one_minus_beta2: 0.001,
                            bias2_sqrt: 0.03,
                            neg_step_size: -0.01,
                            eps: 1e-8,
                        });
                        let rvmax = amsgrad.then_some(&mut rvmax[..]);
                        textbook_step(&mut rp, &grad, &mut rm, &mut rv, rvmax, sign, decay, w1);
                    }
                    let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<u32>>();
                    let case = format!("w1 {w1} sign {sign} decay {decay:?} amsgrad {amsgrad}");
                    assert_eq!(bits(&p), bits(&rp), "{case}");
                    assert_eq!(bits(&m), bits(&rm), "{case}");
                    assert_eq!(bits(&v), bits(&rv), "{case}");
                    assert_eq!(bits(&vmax), bits(&rvmax), "{case}");
                }
            }
        }
    }

    /// Large updates are split over threads; the split cannot change a bit.
    #[test]
    fn a_split_update_on_two_threads_matches_one_loop() {
        let n = 100_003;
        let run = |threads: Option<usize>| {
            let (mut p, grad) = (test_values(n, 21), test_values(n, 22));
            let (mut m, mut v) = (test_values(n, 23), test_values(n, 24));
            let mut vmax = vec![0.5; n];
            let kernel = AdamKernel {
                p: &mut p,
                grad: &grad,
                m: &mut m,
                v: &mut v,
                vmax: Some(&mut vmax[..]),
                grad_sign: 1.0,
                coupled_decay: None,
                decoupled_shrink: Some(0.999),
                w1: 0.1,
                beta2: 0.999,
                one_minus_beta2: 0.001,
                bias2_sqrt: 0.03,
                neg_step_size: -0.01,
                eps: 1e-8,
            };
            match threads {
                Some(t) => rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap()
                    .install(|| run_update(kernel)),
                None => run_fused(&mut { kernel }),
            }
            [p, m, v, vmax].map(|x| x.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
        };
        let whole = run(None);
        assert_eq!(run(Some(2)), whole);
        assert_eq!(run(Some(3)), whole);
        // More threads than pieces of UPDATE_CHUNK: three pieces.
        assert_eq!(run(Some(8)), whole);
    }

    /// The dispatched loop (vectorised with hardware FMA on x86-64 with AVX2) and the exact
    /// emulation must give the same bits, for every variant of the update.
    #[test]
    fn dispatched_update_matches_the_emulated_one_bit_for_bit() {
        let n = 1003; // not a multiple of any vector width
        for variant in 0..4 {
            let run = |dispatch: bool| {
                let (mut p, grad) = (test_values(n, 1), test_values(n, 2));
                let mut m = test_values(n, 3);
                let mut v: Vec<f32> = test_values(n, 4).iter().map(|x| x * x).collect();
                let mut vmax = v.iter().map(|x| x * 1.5).collect::<Vec<f32>>();
                let mut kernel = AdamKernel {
                    p: &mut p,
                    grad: &grad,
                    m: &mut m,
                    v: &mut v,
                    vmax: (variant == 3).then_some(&mut vmax[..]),
                    grad_sign: if variant == 2 { -1.0 } else { 1.0 },
                    coupled_decay: (variant == 1).then_some(0.01),
                    decoupled_shrink: (variant == 2).then_some(0.999),
                    w1: 0.1,
                    beta2: 0.999,
                    one_minus_beta2: 0.001,
                    bias2_sqrt: 0.03,
                    neg_step_size: -0.01,
                    eps: 1e-8,
                };
                if dispatch {
                    run_fused(&mut kernel);
                } else {
                    kernel.run::<Emulated>();
                }
                [p, m, v, vmax].map(|x| x.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
            };
            assert_eq!(run(true), run(false), "variant {variant}");
        }
    }
}
