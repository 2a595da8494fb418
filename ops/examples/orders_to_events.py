#!/usr/bin/env python3
"""Turns a plain orders table into recur's JSON events (README, "A data
scientist's walk-through").

The CSV has a header naming at least the columns customer, date, quantity and
amount (any order; optional: order_id, category, profit). One row is one order:
quantity items for amount in the shop's currency, bought on date (YYYY-MM-DD,
noon UTC, or an ISO date-time with a zone). Every row becomes one purchase
event with one line; rows that cannot be converted are reported on stderr with
their line number and skipped, and the exit code is 1 if there were any.

  python3 ops/examples/orders_to_events.py --shop my-shop orders.csv > orders.jsonl
  build/recur import orders.jsonl --state-dir state --retention-days 550

The output follows the file's order: `recur import` applies a file's events in
event-time order whatever their order (customer by customer is fine). Standard
library only.
"""
import argparse
import csv
import datetime
import json
import sys


def event_time_ms(text):
    text = text.strip()
    if len(text) == 10:  # a date: noon UTC, so no time zone moves it to another day
        d = datetime.date.fromisoformat(text)
        t = datetime.datetime(d.year, d.month, d.day, 12, tzinfo=datetime.timezone.utc)
    else:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if t.tzinfo is None:
            raise ValueError("a date-time needs a zone (e.g. Z or +01:00): %r" % text)
    return int(t.timestamp() * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("orders", help="CSV with a header: customer,date,quantity,amount[,order_id,category,profit]")
    ap.add_argument("--shop", required=True, help="the shop_id of every event")
    ap.add_argument("--category", default="all", help="category when the table has none (default: all)")
    args = ap.parse_args()

    bad = 0
    out = sys.stdout
    with open(args.orders, newline="") as f:
        rows = csv.DictReader(f)
        names = {n.strip().lower(): n for n in (rows.fieldnames or [])}
        missing = [c for c in ("customer", "date", "quantity", "amount") if c not in names]
        if missing:
            sys.exit("%s: the header lacks %s (has: %s)" % (args.orders, ", ".join(missing), ", ".join(names)))
        col = lambda row, c, default=None: (row.get(names[c]) or "").strip() if c in names else default
        for i, row in enumerate(rows, start=2):  # line 1 is the header
            try:
                customer = col(row, "customer")
                if not customer:
                    raise ValueError("empty customer")
                quantity = int(col(row, "quantity"))
                amount = float(col(row, "amount"))
                if quantity < 1 or amount < 0:
                    raise ValueError("quantity must be >= 1 and amount >= 0")
                order_id = col(row, "order_id", "") or "line-%d" % i
                line = {"category": col(row, "category", "") or args.category,
                        "quantity": quantity, "unit_price": round(amount / quantity, 6)}
                profit = col(row, "profit", "")
                if profit:
                    line["profit"] = float(profit)
                event = {"event_id": "%s-%s-%s" % (args.shop, customer, order_id),
                         "shop_id": args.shop, "customer_id": customer,
                         "event_time_ms": str(event_time_ms(col(row, "date"))),
                         "purchase": {"order_id": order_id, "lines": [line]}}
            except (ValueError, TypeError) as e:
                print("%s:%d: skipped: %s" % (args.orders, i, e), file=sys.stderr)
                bad += 1
                continue
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
