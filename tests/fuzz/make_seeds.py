#!/usr/bin/env python3
"""Writes the seed corpora of the decoder and JSON-lines targets from simulator
output (`recur simulate`): one event of each kind, as JSON lines and as the
decoder's input (Protobuf binary via `protoc --encode`, then the record's
metadata the way decoder_fuzz.cc reads it with FuzzedDataProvider).

  tests/fuzz/make_seeds.py events.jsonl   # from the repository's root
"""
import json
import os
import subprocess
import sys

KINDS = ["purchase", "session", "cart", "marketing", "profile"]
TOPIC = {k: i for i, k in enumerate(KINDS)}  # decoder_fuzz.cc's topic order


def text_format(obj, indent=""):
    out = []
    for key, value in obj.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, dict):
                out.append(f"{indent}{key} {{\n{text_format(v, indent + '  ')}{indent}}}\n")
            elif isinstance(v, bool):
                out.append(f"{indent}{key}: {'true' if v else 'false'}\n")
            elif isinstance(v, str) and (v.isupper() or v.lstrip("-").isdigit()):
                out.append(f"{indent}{key}: {v}\n")  # an enum name or an int64
            elif isinstance(v, str):
                out.append(f"{indent}{key}: {json.dumps(v)}\n")
            else:
                out.append(f"{indent}{key}: {v}\n")
    return "".join(out)


def tail(topic, key_mode):
    """Bytes FuzzedDataProvider consumes from the end, in data order."""
    consumed = [topic] + [0] * 4 + [0] * 8 + [0, 1, 1, key_mode]
    return bytes(reversed(consumed))


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    proto_dir = os.path.join(root, "..", "..", "proto")
    first = {}
    for line in open(sys.argv[1]):
        event = json.loads(line)
        kind = next((k for k in KINDS if k in event), None)
        if kind and kind not in first:
            first[kind] = (line.strip(), event)
    for kind, (line, event) in sorted(first.items()):
        with open(os.path.join(root, "corpus", "jsonl", kind + ".json"), "w") as f:
            f.write(line + "\n")
        binary = subprocess.run(
            ["protoc", f"--proto_path={proto_dir}", "--encode=recur.v1.Event", "recur.proto"],
            input=text_format(event).encode(), capture_output=True, check=True).stdout
        with open(os.path.join(root, "corpus", "decoder", kind + ".bin"), "wb") as f:
            f.write(b"\\X" + binary + tail(TOPIC[kind], 2))


if __name__ == "__main__":
    main()
