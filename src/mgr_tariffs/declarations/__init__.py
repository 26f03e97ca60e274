"""iWmo 3.2 declarations: a WMO323 per invoice, validated before sending, and the WMO325 answer matched to it.

* :mod:`.material` finds the iWmo folder (XSDs, rule stylesheet, rule texts) — never vendored;
* :mod:`.allocations` reads the allocation numbers (ToewijzingNummer) and the law a row falls under;
* :mod:`.wmo323` turns an :class:`~mgr_tariffs.billing.invoices.Invoice` into a declaration and its XML;
* :mod:`.validation` checks any WMO323/WMO325 against the XSD and the level-2 rule stylesheet;
* :mod:`.wmo325` reads an answer and matches it to its declaration by DeclaratieNummer and ProductReferentie.
"""
