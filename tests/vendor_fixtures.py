"""Helpdesk and survey exports written from each vendor's public API documentation.

Every fixture is generated here (ids, times and texts made up on the spot); nothing is copied
from a vendor or from benchmark data. Each function writes files into a folder and returns
their paths.
"""

from __future__ import annotations
