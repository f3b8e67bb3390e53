"""`centralino nlu train|eval`: train an intent model on an intents file and measure it on another, as the
business does with its own data (docs/nlu.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from centralino.bot.nlu.encoders import ENCODERS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    nlu: argparse.ArgumentParser = subparsers.add_parser(
        "nlu", help="train and evaluate intent models on intents files (JSON/YAML)")
    nlu_sub = nlu.add_subparsers(dest="action", required=True)
    train = nlu_sub.add_parser("train", help="train a model on an intents file; prints a JSON summary")
    train.add_argument("file", help="intents file (JSON or YAML)")
    train.add_argument("--encoder", default="use", choices=ENCODERS)
    train.add_argument("--out", help="write the model's bytes here (what the bot stores)")
    train.add_argument("--seed", type=int, default=0)
    evaluate = nlu_sub.add_parser("eval", help="train on one intents file, evaluate on another; prints JSON")
    evaluate.add_argument("--train", required=True, help="training intents file")
    evaluate.add_argument("--test", required=True, help="labelled test intents file (intent 'oos': out of scope)")
    evaluate.add_argument("--encoder", default="use", choices=ENCODERS)
    evaluate.add_argument("--threshold", type=float, default=0.0,
                          help="confidence threshold for the per-intent precision and coverage")
    evaluate.add_argument("--oos-recall", type=float, default=None,
                          help="with 'oos' examples in the training file: the share of held-out out-of-scope "
                               "examples the learnt threshold must refuse (default 0.7: a 60%% floor + margin)")
    evaluate.add_argument("--seed", type=int, default=0)
    return nlu


def run(args: argparse.Namespace) -> int:
    from centralino.bot.nlu.datasets import load_intents
    from centralino.bot.nlu.evaluate import evaluate
    from centralino.bot.nlu.model import train
    from centralino.errors import CentralinoError

    try:
        if args.action == "train":
            examples = [e for e in load_intents(args.file).examples if e.intent != "oos"]
            began = time.perf_counter()
            model = train(examples, encoder=args.encoder, seed=args.seed)
            seconds = round(time.perf_counter() - began, 2)
            blob = model.to_bytes()
            if args.out:
                with open(args.out, "wb") as f:
                    f.write(blob)
            print(json.dumps({"intents": len(model.intents), "examples": len(examples), "encoder": args.encoder,
                              "train_s": seconds, "bytes": len(blob), "out": args.out}))
            return 0
        train_file, test_file = load_intents(args.train), load_intents(args.test)
        in_scope = [e for e in train_file.examples if e.intent != "oos"]
        oos = [e.text for e in train_file.examples if e.intent == "oos"]
        began = time.perf_counter()
        floor = {} if args.oos_recall is None else {"oos_recall": args.oos_recall}
        model = train(in_scope, encoder=args.encoder, seed=args.seed, out_of_scope=oos, **floor)
        seconds = round(time.perf_counter() - began, 2)
        result = evaluate(model, test_file.examples, threshold=args.threshold).to_dict()
        print(json.dumps({"encoder": args.encoder, "train_s": seconds, "oos_threshold": model.oos_threshold,
                          **result}))
        return 0
    except (CentralinoError, OSError, ValueError) as exc:
        field = getattr(exc, "field", None)
        print(f"error: {field + ': ' if field else ''}{getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2
