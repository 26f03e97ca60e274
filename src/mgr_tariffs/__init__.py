"""mgr-tariffs: price, bill and check the care products of the MGR Sociaal Domein Limburg-Noord."""

__version__ = "0.1.0"
