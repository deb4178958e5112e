"""Request/response pydantic models (pure pydantic: no heavy imports)."""
