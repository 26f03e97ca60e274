"""The tariff catalogue: products, dated prices, municipalities and their memberships.

``loader`` reads and checks ``tariffs.yaml``; ``models`` are its frozen values; ``rules`` the checks
``mgr validate`` runs; ``pricing`` the price in force on a date; ``membership`` which municipality
was a member on a date and which product is not bought for it.
"""

from mgr_tariffs.catalogue.loader import (
    DEFAULT_PATH,
    PACKAGED_PATH,
    CatalogueResult,
    Lookup,
    catalogue_schema,
    load_catalogue,
    parse_catalogue,
    resolve_catalogue_path,
)
from mgr_tariffs.catalogue.pricing import Quote

__all__ = ["DEFAULT_PATH", "PACKAGED_PATH", "CatalogueResult", "Lookup", "Quote", "catalogue_schema",
           "load_catalogue", "parse_catalogue", "resolve_catalogue_path"]
