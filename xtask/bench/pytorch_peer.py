#!/usr/bin/env python3
"""PyTorch side of `cargo xtask bench --vs pytorch`.

The xtask starts this script once per (workload, batch size, thread count), in a fresh process,
with the same arguments it gives its own `bench-worker`:

    pytorch_peer.py --workload {gemm,mlp,cnn,infer,mnist-mlp,mnist-cnn} --threads N [--batch B]
                    [--quick]
    pytorch_peer.py --workload gemm --numpy --threads N [--quick]
                                        # numpy's matmul (its BLAS: OpenBLAS in PyPI wheels),
                                        # the SGEMM reference of issue 8; needs numpy, not torch
    pytorch_peer.py --fingerprint N     # data check only (needs numpy, not torch)

It prints one JSON object per line: first a {"type": "meta"} line, then one
{"type": "measurement"} line per figure, in the format of xtask/src/bench/protocol.rs.

The workloads, data and timing mirror the Rust worker
(xtask/src/bench/{gemm,models,mnist_examples,timing}.rs): change both together.
"""
import argparse
import json
import sys
import time

import numpy as np

N_TRAIN = 60_000
N_FEATURES = 784
N_CLASSES = 10
DATA_SEED = 42
MODEL_SEED = 42
CNN_BATCH = 64
INFER_BATCH = 1024
WARMUP_BATCHES = {"mlp": 5, "cnn": 2}
# The models of examples/mnist_mlp.rs and examples/mnist_cnn.rs (see mnist_examples.rs).
MNIST_MLP_BATCH = 128
MNIST_CNN_BATCH = 64
MNIST_MLP_NORMALISATION = (0.1307, 0.3081)
MNIST_MLP_LR, MNIST_MLP_DECAY = 1e-3, 0.3
GEMM_SHAPES = [(64, 64, 64), (128, 128, 128), (256, 256, 256), (512, 512, 512),
               (1024, 1024, 1024), (2048, 2048, 2048), (128, 784, 256)]

FULL = dict(reps=5, min_rep_s=0.15, max_measure_s=4.0, chunks=5, train_cap_s=20.0,
            mlp_samples=N_TRAIN, cnn_samples=2048, latency_calls=10_000, max_gemm_side=2048)
QUICK = dict(reps=3, min_rep_s=0.01, max_measure_s=0.5, chunks=2, train_cap_s=2.0,
             mlp_samples=1024, cnn_samples=128, latency_calls=200, max_gemm_side=128)


# ------------------------------------------------------------------ synthetic data
_U64 = np.uint64


def splitmix64_at(index, stream):
    """SplitMix64 output for each counter in `index` (uint64 array); wraps like Rust's u64."""
    with np.errstate(over="ignore"):
        z = _U64(stream) * _U64(0xBF58476D1CE4E5B9) + (index + _U64(1)) * _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def unit_f32(start, stop, stream):
    """Top 24 bits of splitmix64_at(start..stop) scaled into [0, 1) as float32 (exact)."""
    z = splitmix64_at(np.arange(start, stop, dtype=np.uint64), stream)
    return (z >> _U64(40)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def synthetic_mnist(n):
    """First n samples: features [n, 784] in [0, 1) and labels = argmax of ten 78-feature sums."""
    x = np.empty((n, N_FEATURES), dtype=np.float32)
    rows = 2048  # generate in slabs to bound the uint64 temporaries
    for s in range(0, n, rows):
        e = min(n, s + rows)
        x[s:e] = unit_f32(s * N_FEATURES, e * N_FEATURES, DATA_SEED).reshape(e - s, N_FEATURES)
    sums = x[:, :780].astype(np.float64).reshape(n, N_CLASSES, 78).sum(axis=2)  # exact
    return x, np.argmax(sums, axis=1).astype(np.int64)


def fingerprint(x, y):
    return dict(samples=int(len(y)), feature_sum=float(x.astype(np.float64).sum()),
                label_histogram=np.bincount(y, minlength=N_CLASSES).tolist())


# ------------------------------------------------------------------ timing
def median(values):
    v = sorted(values)
    n = len(v)
    if n == 0:
        return float("nan")
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def time_reps(fn, reps, budget):
    """Seconds per call of each repetition, and calls per repetition (see timing.rs)."""
    t0, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - t0 < 0.05:
        fn()
        calls += 1
    one = max((time.perf_counter() - t0) / calls, 1e-7)
    iters = max(1, int(budget["min_rep_s"] / one))
    start, per_call = time.perf_counter(), []
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        per_call.append((time.perf_counter() - t) / iters)
        if len(per_call) >= 3 and time.perf_counter() - start > budget["max_measure_s"]:
            break
    return per_call, iters


def latency_us(fn, calls, cap_s):
    for _ in range(50):
        fn()
    clock, start, us = time.perf_counter, time.perf_counter(), []
    for i in range(max(1, calls)):
        t = clock()
        fn()
        us.append((clock() - t) * 1e6)
        if i % 256 == 255 and clock() - start > cap_s:
            break
    return median(us), len(us)


def chunk_ranges(n_batches, chunks):
    k = min(max(chunks, 1), max(n_batches, 1))
    return [(i * n_batches // k, (i + 1) * n_batches // k) for i in range(k)]


# ------------------------------------------------------------------ output
def emit(obj):
    print(json.dumps(obj), flush=True)


def measurement(workload, case, threads, value, unit, higher_is_better, samples=(),
                implementation="pytorch", **details):
    emit(dict(type="measurement", workload=workload, case=case, implementation=implementation,
              threads=threads, value=value, unit=unit, higher_is_better=higher_is_better,
              samples=list(samples), details=details))


# ------------------------------------------------------------------ workloads
def gemm_rates(threads, budget, multiply, implementation="pytorch", operand=lambda v: v):
    """GFLOP/s of `multiply(a, b)` on every SGEMM shape in the budget; `operand` wraps the numpy
    operands (torch.from_numpy for torch). The result is allocated per call, like
    Tensor::matmul's."""
    for (m, k, n) in GEMM_SHAPES:
        if max(m, k, n) > budget["max_gemm_side"]:
            continue
        a = operand(unit_f32(0, m * k, 1).reshape(m, k))
        b = operand(unit_f32(0, k * n, 2).reshape(k, n))
        flop = 2.0 * m * k * n
        reps = 3 if m * k * n >= 2048 ** 3 else budget["reps"]
        per_call, iters = time_reps(lambda: multiply(a, b), reps, budget)
        measurement("gemm", f"{m}x{k}x{n}", threads, flop / median(per_call) / 1e9, "GFLOP/s", True,
                    [flop / s / 1e9 for s in per_call], implementation=implementation,
                    iters_per_rep=iters)


def run_gemm(torch, threads, budget):
    gemm_rates(threads, budget, torch.mm, operand=torch.from_numpy)


def run_gemm_numpy(threads, budget):
    """`np.matmul` on the same operands as run_gemm: numpy's BLAS sgemm (OpenBLAS in the PyPI
    wheels), which the SGEMM target of issue 8 is stated against. Its own process: OpenBLAS's
    threads keep spinning after a call and would slow a torch call that followed."""
    gemm_rates(threads, budget, np.matmul, implementation="numpy")


def numpy_blas():
    """(name, version, configuration) of the BLAS numpy was built with, as far as it says."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return (str(blas.get("name", "?")), str(blas.get("version", "?")),
                str(blas.get("openblas configuration", "")))
    except Exception:  # older numpy without mode="dicts"
        return ("unknown", "?", "")


def mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, N_CLASSES))


def cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, N_CLASSES))


def mnist_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(64, 64, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, N_CLASSES))


def mnist_mlp_lr(step, total_steps):
    return MNIST_MLP_LR * MNIST_MLP_DECAY ** (step / max(total_steps, 1))


def train_rate(torch, workload, case, model, x, y, batch, warmup, threads, budget, lr_at=None):
    """Samples/s over the data, median of chunks (see models.rs::train_rate). `lr_at(step)`, when
    given, sets the learning rate before each step (steps counted from the first warm-up batch)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    # Slices of one tensor are views: cutting the batches here costs nothing, as in Rust.
    batches = [(x[s:s + batch], y[s:s + batch]) for s in range(0, n, batch)]

    steps = [0]

    def step(xb, yb):
        if lr_at is not None:
            for group in opt.param_groups:
                group["lr"] = lr_at(steps[0])
        steps[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for xb, yb in batches[:warmup]:
        step(xb, yb)
    rates, losses, done, total_s = [], [], 0, 0.0
    for (b0, b1) in chunk_ranges(len(batches), budget["chunks"]):
        t0 = time.perf_counter()
        count, loss = 0, None
        for xb, yb in batches[b0:b1]:
            loss = step(xb, yb)
            count += len(yb)
            if total_s + time.perf_counter() - t0 > budget["train_cap_s"]:
                break
        dt = time.perf_counter() - t0
        rates.append(count / dt)
        losses.append(float(loss.item()) if loss is not None else float("nan"))
        done += count
        total_s += dt
        if total_s > budget["train_cap_s"]:
            break
    measurement(workload, case, threads, median(rates), "samples/s", True, rates,
                overall=done / total_s, trained_samples=done, seconds=total_s, partial=done < n,
                chunk_losses=losses)


def run_mlp(torch, x, y, batch, threads, budget):
    torch.manual_seed(MODEL_SEED)
    train_rate(torch, "mlp_train", f"bs{batch}", mlp(torch), torch.from_numpy(x), torch.from_numpy(y),
               batch, WARMUP_BATCHES["mlp"], threads, budget)


def run_cnn(torch, x, y, threads, budget):
    torch.manual_seed(MODEL_SEED)
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28))
    train_rate(torch, "cnn_train", f"bs{CNN_BATCH}", cnn(torch), images, torch.from_numpy(y),
               CNN_BATCH, WARMUP_BATCHES["cnn"], threads, budget)


def run_mnist_mlp(torch, x, y, threads, budget):
    torch.manual_seed(MODEL_SEED)
    mean, std = MNIST_MLP_NORMALISATION
    xn = (x - np.float32(mean)) / np.float32(std)  # untimed, as in Rust
    warmup = WARMUP_BATCHES["mlp"]
    total_steps = warmup + -(-len(y) // MNIST_MLP_BATCH)
    train_rate(torch, "mnist_mlp_train", f"bs{MNIST_MLP_BATCH}", mlp(torch), torch.from_numpy(xn),
               torch.from_numpy(y), MNIST_MLP_BATCH, warmup, threads, budget,
               lr_at=lambda s: mnist_mlp_lr(s, total_steps))


def run_mnist_cnn(torch, x, y, threads, budget):
    torch.manual_seed(MODEL_SEED)
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28))
    train_rate(torch, "mnist_cnn_train", f"bs{MNIST_CNN_BATCH}", mnist_cnn(torch), images,
               torch.from_numpy(y), MNIST_CNN_BATCH, WARMUP_BATCHES["cnn"], threads, budget)


def run_infer(torch, x, threads, budget):
    torch.manual_seed(MODEL_SEED)
    model = mlp(torch).eval()
    xt = torch.from_numpy(x)
    one, many = xt[:1], xt[:INFER_BATCH]
    with torch.inference_mode():
        us, calls = latency_us(lambda: model(one), budget["latency_calls"], budget["train_cap_s"])
        measurement("mlp_infer_latency", "bs1", threads, us, "us", False, calls=calls)
        per_call, iters = time_reps(lambda: model(many), budget["reps"], budget)
        measurement("mlp_infer_throughput", f"bs{INFER_BATCH}", threads,
                    INFER_BATCH / median(per_call), "samples/s", True,
                    [INFER_BATCH / s for s in per_call], iters_per_rep=iters)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload",
                    choices=["gemm", "mlp", "cnn", "infer", "mnist-mlp", "mnist-cnn"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--numpy", action="store_true",
                    help="time numpy's matmul instead of torch (gemm only; needs no torch)")
    ap.add_argument("--fingerprint", type=int, metavar="N",
                    help="print the fingerprint of the first N synthetic samples and exit")
    args = ap.parse_args()
    if args.fingerprint is not None:
        emit(fingerprint(*synthetic_mnist(args.fingerprint)))
        return
    if args.workload is None:
        ap.error("--workload is required")
    budget = QUICK if args.quick else FULL
    if args.numpy:
        if args.workload != "gemm":
            ap.error("--numpy times SGEMM only: use it with --workload gemm")
        name, version, config = numpy_blas()
        emit(dict(type="meta", implementation="numpy", threads=args.threads,
                  versions={"numpy": np.__version__, "python": sys.version.split()[0],
                            name: version},
                  notes=dict(blas=config)))
        run_gemm_numpy(args.threads, budget)
        return

    import torch  # after argument parsing, so --fingerprint works without torch
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    mlp_n, cnn_n = min(budget["mlp_samples"], N_TRAIN), min(budget["cnn_samples"], N_TRAIN)
    n = {"gemm": 0, "mlp": mlp_n, "cnn": cnn_n, "infer": INFER_BATCH,
         "mnist-mlp": mlp_n, "mnist-cnn": cnn_n}[args.workload]
    x = y = None
    if n:
        x, y = synthetic_mnist(n)
    emit(dict(type="meta", implementation="pytorch", threads=args.threads,
              runtime_threads=torch.get_num_threads(),
              versions=dict(torch=torch.__version__, numpy=np.__version__,
                            python=sys.version.split()[0]),
              data=fingerprint(x, y) if n else None,
              notes=dict(cpu_capability=str(torch.backends.cpu.get_cpu_capability()),
                         mkldnn=str(torch.backends.mkldnn.is_available()))))
    if args.workload == "gemm":
        run_gemm(torch, args.threads, budget)
    elif args.workload == "mlp":
        run_mlp(torch, x, y, args.batch, args.threads, budget)
    elif args.workload == "cnn":
        run_cnn(torch, x, y, args.threads, budget)
    elif args.workload == "mnist-mlp":
        run_mnist_mlp(torch, x, y, args.threads, budget)
    elif args.workload == "mnist-cnn":
        run_mnist_cnn(torch, x, y, args.threads, budget)
    else:
        run_infer(torch, x, args.threads, budget)


if __name__ == "__main__":
    main()
