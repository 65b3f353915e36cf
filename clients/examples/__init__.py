"""Example bots: run one with `smallwood bot run clients/examples/FILE.py:Class --token ...`."""
