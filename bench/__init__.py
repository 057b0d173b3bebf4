"""Benchmark: our server side by side with ngIRCd and miniircd on the same load (make bench)."""
