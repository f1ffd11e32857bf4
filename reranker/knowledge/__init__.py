"""Knowledge: reading tables, FAQ bases and their registry, labelled query sets, pasted candidates, instruction presets."""
