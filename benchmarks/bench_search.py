"""Cost of search: batched vs one image at a time, and per image per step for each decoder.

    python benchmarks/bench_search.py [--images 64] [--steps 20] [--device cpu] [--threads 0] [--repeats 3]

Decoders are untrained, at the default CPU model sizes (``ModelConfig()``: 32², 2 slots × 32);
training does not change their cost. Early stopping is off so every image runs every step.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import time

import torch

from genperc.methods import SearchConfig, search
from genperc.models import DecoderConfig, ModelConfig, build_model

DECODERS = {
    "additive (mlp)": DecoderConfig(name="additive", arch="mlp"),
    "additive (broadcast)": DecoderConfig(name="additive", arch="broadcast"),
    "xattn": DecoderConfig(name="xattn"),
    "unstructured (mlp)": DecoderConfig(name="unstructured", arch="mlp"),
}


def problem(decoder: DecoderConfig, n: int, device: str):
    torch.manual_seed(0)
    model = build_model(ModelConfig(decoder=decoder)).to(device).eval()
    z = torch.randn(n, model.cfg.n_slots, model.cfg.slot_dim)
    with torch.no_grad():
        images = model.decode(z.to(device)).image.cpu()
    return model, images, z + 0.1 * torch.randn_like(z)


def timed(fn, repeats: int) -> float:
    """Best of ``repeats`` wall times: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--repeats", type=int, default=3, help="each timing is the best of this many runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    n, steps, r = args.images, args.steps, args.repeats
    cfg = SearchConfig(steps=steps, early_stop=False, batch_size=n)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"{n} images × {steps} Adam steps, 32², 2 slots × 32, best of {r}")

    model, images, init = problem(DECODERS["additive (mlp)"], n, args.device)
    search(model, images[:2], init[:2], SearchConfig(steps=2, early_stop=False))  # warm-up
    batched = timed(lambda: search(model, images, init, cfg), r)
    alone = timed(lambda: [search(model, images[i : i + 1], init[i : i + 1], cfg) for i in range(n)], r)
    print("\nbatched vs one image at a time (additive mlp decoder)")
    print(f"  batched    {n / batched:9.1f} images/s  ({batched:.2f} s)")
    print(f"  per image  {n / alone:9.1f} images/s  ({alone:.2f} s)")
    print(f"  speed-up   {alone / batched:9.1f}×")

    print(f"\nsearch cost per image per step, batch of {n}")
    for name, decoder in DECODERS.items():
        model, images, init = problem(decoder, n, args.device)
        search(model, images[:2], init[:2], SearchConfig(steps=2, early_stop=False))
        wall = timed(lambda m=model, x=images, z=init: search(m, x, z, cfg), r)
        print(f"  {name:22s} {1000 * wall / (n * steps):8.3f} ms   ({n * steps / wall:8.0f} image-steps/s)")


if __name__ == "__main__":
    main()
