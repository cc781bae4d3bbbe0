#!/usr/bin/env python3
"""Trains the platform's `local` model on your own machine (a `byoc` run): logistic regression
on a round's features, the same algorithm, order of batches and metrics as the platform, so the
numbers you report are the numbers the platform would have computed.

    python3 train.py --train train.csv --validation validation.csv --out out
    mp train report RUN_ID --metrics out/metrics.json

Standard library only; Python 3.8 or later.
"""

import argparse
import os
import sys

import artifact
import logreg
import rounds

_U64_MAX = (1 << 64) - 1


def _arguments(argv):
    defaults = logreg.Hyperparams()
    parser = argparse.ArgumentParser(
        description="Train the platform's logistic regression on a round's CSV files.",
    )
    parser.add_argument("--train", required=True, metavar="CSV", help="the round's train.csv")
    parser.add_argument(
        "--validation", required=True, metavar="CSV", help="the round's validation.csv"
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="1..1000")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="in (0, 10]")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="1..65536")
    parser.add_argument("--l2", type=float, default=defaults.l2, help="in [0, 10]")
    # A run without a seed is seeded 0 on the platform (`TrainingSpec::seed`'s default).
    parser.add_argument("--seed", type=int, default=0, help="orders the batches (0..2^64-1)")
    parser.add_argument("--out", default=".", metavar="DIR", help="where to write the files")
    parser.add_argument(
        "--run-id",
        default="RUN_ID",
        help="the byoc run to report to (only for the closing hint)",
    )
    args = parser.parse_args(argv)
    params = logreg.Hyperparams(
        lr=args.lr, epochs=args.epochs, batch_size=args.batch_size, l2=args.l2
    )
    refused = params.refused()
    if refused is not None:
        name, rule = refused
        parser.error(f"--{name.replace('_', '-')} must be {rule}")
    if not 0 <= args.seed <= _U64_MAX:
        parser.error("--seed must be in 0..2^64-1")
    return args, params


def _read(path):
    """A split file, or exit 2 with the platform's reason for refusing it."""
    try:
        # newline="" keeps `\r\n` as it is: rounds.parse splits lines as Rust does.
        with open(path, encoding="utf-8", newline="") as file:
            return rounds.parse(file.read())
    except (OSError, UnicodeDecodeError) as error:
        problem = str(error)
    except rounds.Unreadable as error:
        problem = str(error)
    print(f"train.py: {path}: {problem}", file=sys.stderr)
    sys.exit(2)


def _write(path, data):
    """Writes through a temporary file, so that a half-written file never stands."""
    temporary = path + ".tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def main(argv=None):
    args, params = _arguments(argv)
    train_split, validation_split = _read(args.train), _read(args.validation)
    print(
        f"started: logistic regression, {params.epochs} epochs, batch_size={params.batch_size}, "
        f"lr={artifact.rust_display(params.lr)}, l2={artifact.rust_display(params.l2)}, seed={args.seed}",
        flush=True,
    )
    model, metrics = logreg.train(
        train_split,
        validation_split,
        params,
        args.seed,
        on_epoch=lambda epoch: print(epoch.line(), flush=True),
    )
    # What this run was, in the platform's spec words (the fields that apply to it).
    spec = {
        "provider": "byoc",
        "task": "signal",
        "seed": args.seed,
        "hyperparams": {
            "lr": params.lr,
            "epochs": params.epochs,
            "batch_size": params.batch_size,
            "l2": params.l2,
        },
    }
    os.makedirs(args.out, exist_ok=True)
    metrics_path = os.path.join(args.out, "metrics.json")
    model_path = os.path.join(args.out, "model.json")
    _write(metrics_path, artifact.metrics_bytes(metrics))
    _write(model_path, artifact.artifact_bytes(model, metrics, spec))
    print(
        f"done: val_accuracy={metrics['val_accuracy']:.4f} val_sharpe={metrics['val_sharpe']:.4f} "
        f"win_rate={metrics['win_rate']:.4f} trades={int(metrics['trades'])}; "
        f"wrote {metrics_path} and {model_path}"
    )
    print(f"report it: mp train report {args.run_id} --metrics {metrics_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
