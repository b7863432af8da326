"""Margins of homogeneous models along a path."""

from .path import MarginPath as MarginPath, margin_path as margin_path
