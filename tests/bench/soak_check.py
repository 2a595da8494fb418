#!/usr/bin/env python3
"""soak_check.py: was every produced event counted exactly once?

    soak_check.py EVENTS.jsonl ONLINE.jsonl OFFLINE.jsonl

EVENTS is what the soak produced (`recur simulate` output, duplicates and late
events included); ONLINE and OFFLINE are `recur inspect --all --buckets` of the
soaked state and of `recur import EVENTS` (the offline reference). Checks:

  1. per customer, the simulator's sequence numbers (event ids end in
     "-<n>", n = 1, 2, ... per shop/customer) name each event; the gaps in
     EVENTS are counted (only late events pushed past the stream's last day,
     which the simulator never emits) and reported, not failed;
  2. per customer, day and kind, the counts in ONLINE equal the distinct
     events of EVENTS (orders, sessions, unpaid cart items, marketing sent /
     opened / clicked; profile entries per customer): a count too low is an
     event lost, too high one counted twice; the sequence numbers of that
     cell's events are printed to pin them;
  3. ONLINE equals OFFLINE line for line (features and counts).

Prints one JSON summary line; exit status 1 on any difference.
"""
import json
import sys
from collections import defaultdict

MS_PER_DAY = 86_400_000
FIELDS = ["orders", "sessions", "unpaid_cart_items", "sent", "opened", "clicked"]
ACTIONS = {"MARKETING_ACTION_SENT": 3, "MARKETING_ACTION_OPENED": 4, "MARKETING_ACTION_CLICKED": 5}


def expected_counts(path):
    """Per key: ({day: [6 counts]}, profile count, {(day, field): [seq]}, seqs)."""
    seen = set()
    days = defaultdict(lambda: defaultdict(lambda: [0] * len(FIELDS)))
    profiles = defaultdict(int)
    cells = defaultdict(list)
    seqs = defaultdict(set)
    produced = 0
    for line in open(path):
        e = json.loads(line)
        produced += 1
        if e["event_id"] in seen:
            continue  # a duplicate: the same id counts once
        seen.add(e["event_id"])
        key = e["shop_id"] + "/" + e["customer_id"]
        seq = int(e["event_id"].rsplit("-", 1)[1])
        seqs[key].add(seq)
        day = int(e["event_time_ms"]) // MS_PER_DAY
        counts = days[key][day]
        if "purchase" in e:
            field, n = 0, 1
        elif "session" in e:
            field, n = 1, 1
        elif "cart" in e:
            field, n = 2, int(e["cart"].get("unpaid_items", 0))
        elif "marketing" in e:
            field, n = ACTIONS[e["marketing"]["action"]], 1
        else:
            profiles[key] += 1
            cells[(key, day, "profile")].append(seq)
            continue
        counts[field] += n
        cells[(key, day, FIELDS[field])].append(seq)
    return produced, len(seen), days, profiles, cells, seqs


def main():
    events, online_path, offline_path = sys.argv[1:4]
    produced, distinct, days, profiles, cells, seqs = expected_counts(events)
    problems = []
    input_gaps = sum(max(s) - len(s) for s in seqs.values())

    online = {}
    for line in open(online_path):
        j = json.loads(line)
        online[j["key"]] = j
    for key in sorted(set(days) | set(profiles)):
        if key not in online:
            problems.append(f"{key}: in the events, not in the state (all {len(seqs[key])} events lost)")
            continue
        got = {b[0]: b[1:] for b in online[key]["days"]["buckets"]}
        for day in sorted(set(days[key]) | set(got)):
            want = days[key].get(day, [0] * len(FIELDS))
            have = got.get(day, [0] * len(FIELDS))
            for i, field in enumerate(FIELDS):
                if want[i] != have[i]:
                    verdict = "lost" if have[i] < want[i] else "counted twice"
                    problems.append(f"{key} day {day} {field}: {have[i]} counted, {want[i]} produced "
                                    f"({verdict}; events seq {cells[(key, day, field)]})")
        if online[key]["days"]["profiles"] != profiles[key]:
            problems.append(f"{key} profiles: {online[key]['days']['profiles']} kept, "
                            f"{profiles[key]} produced")
    for key in sorted(set(online) - set(seqs)):
        problems.append(f"{key}: in the state, never produced")

    offline = [line for line in open(offline_path)]
    online_lines = [line for line in open(online_path)]
    if offline != online_lines:
        differing = sum(1 for a, b in zip(offline, online_lines) if a != b)
        problems.append(f"state differs from the offline reference: {differing} of "
                        f"{len(offline)} customers differ, {len(online_lines)} online")

    print(json.dumps({"produced": produced, "distinct_events": distinct, "customers": len(seqs),
                      "input_gaps": input_gaps, "problems": len(problems)}))
    for p in problems[:50]:
        print("  " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
