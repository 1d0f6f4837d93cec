"""Running: the runner every command's request goes to, worker processes, training with its
callbacks and checkpoints, bench's timed steps, the checks made before a framework starts, and
the environment record. The only package that starts a backend; may import everything below
the API."""
