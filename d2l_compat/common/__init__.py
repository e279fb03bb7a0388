"""Framework-neutral parts of d2l_compat: data, layout, timing, plotting, the training loop."""
