"""Scrapes a /metrics endpoint and parses it with prometheus_client's own text parser.

usage: scrape_metrics.py URL OUT_JSON
Writes {family: {"type": ..., "samples": [[name, labels, value], ...]}}; exits non-zero when the text does not parse.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    url, out_json = sys.argv[1:]
    with urllib.request.urlopen(url, timeout=30) as r:
        content_type = r.headers.get("Content-Type")
        text = r.read().decode("utf-8")
    families = {}
    for f in text_string_to_metric_families(text):
        families[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
    with open(out_json, "w") as f:
        json.dump({"content_type": content_type, "families": families}, f)


if __name__ == "__main__":
    main()
