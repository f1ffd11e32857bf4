"""The desk: the one FAQ pipeline (first stage, then rerank, streamed), the desk's rankings, the results table, batch triage."""
