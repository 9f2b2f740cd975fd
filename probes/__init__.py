"""probes: linear probes, control tasks, MDL, layer sweeps, concept directions and erasure."""
