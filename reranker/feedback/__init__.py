"""What the team's agents teach the desk: picks and per-base thresholds over the desk's bases, knowledge gaps."""
