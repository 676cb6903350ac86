"""Mapping: features and events at dotted addresses -> sound and visual parameters."""

from installation.mapping.mapper import Mapper, ParameterKind, compile_mappings

__all__ = ["Mapper", "ParameterKind", "compile_mappings"]
