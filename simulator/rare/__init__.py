"""Rare events, beside the engine: generalized adaptive multilevel splitting (``splitting``) for rare first
hits of a dynamics, and nested sampling (``nested``) for tiny volumes of a static measure."""
