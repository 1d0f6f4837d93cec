"""Numbers, no I/O: what one training run measured (records), statistics and stopping rules,
the figures of a comparison, the summaries of a comparison, bench and sweep, and a run against
its baseline. May import spec, models and the observer; no framework, no files."""
