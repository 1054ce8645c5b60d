"""The model runtime: OpenAI-compatible chat and embeddings, the offline provider, retries, fallbacks, cost."""
