#!/usr/bin/env python3
"""Reads `kcat -C -e -f '%K:%S:%k%s'` output of a recur.scores topic on stdin.

An independent check of recur's output: a minimal Protobuf wire-format reader
(no generated code) for recur.v1.CustomerScore.
  scores.py last      -> "key<TAB>hex(value)" of the last score per key, sorted
  scores.py messages  -> "key<TAB>as_of_ms<TAB>risk_version<TAB>repurchase_version<TAB>risk" per message
  scores.py content   -> "key<TAB>fields<TAB>segments" of the last score per key, sorted:
                         the probabilities, model versions and schema hash (4-8) in hex,
                         then the segments; not the as-of (3) nor what depends on it
                         (the reasons' feature values, the actions)
"""
import struct
import sys


def records(data):
    i = 0
    while i < len(data):
        j = data.index(b":", i)
        klen = int(data[i:j])
        i = j + 1
        j = data.index(b":", i)
        vlen = int(data[i:j])
        i = j + 1
        key = data[i:i + max(klen, 0)]
        i += max(klen, 0)
        value = data[i:i + max(vlen, 0)]
        i += max(vlen, 0)
        yield key.decode(), value


def varint(b, i):
    x = shift = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return x, i


def fields(b):
    out, i = {}, 0
    while i < len(b):
        tag, i = varint(b, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def main():
    data = sys.stdin.buffer.read()
    mode = sys.argv[1]
    if mode == "last":
        last = {}
        for k, v in records(data):
            last[k] = v
        for k in sorted(last):
            print(k + "\t" + last[k].hex())
    elif mode == "content":
        last = {}
        for k, v in records(data):
            last[k] = v
        for k in sorted(last):
            f = fields(last[k])
            print(k + "\t" + " ".join("%d=%s" % (n, (x if isinstance(x, bytes) else str(x).encode()).hex())
                                      for n in sorted(f) if 4 <= n <= 8 for x in f[n])
                  + "\t" + ",".join(x.decode() for x in f.get(9, [])))
    elif mode == "messages":
        for k, v in records(data):
            f = fields(v)
            risk = struct.unpack("<d", f[4][0])[0] if 4 in f else 0.0
            print("%s\t%d\t%s\t%s\t%.6f" % (k, f.get(3, [0])[0], f.get(6, [b""])[0].decode(),
                                            f.get(7, [b""])[0].decode(), risk))
    else:
        sys.exit("usage: scores.py last|messages|content")


if __name__ == "__main__":
    main()
