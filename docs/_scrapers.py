"""A sphinx-gallery image scraper that saves figures with a tight bounding box."""

from __future__ import annotations


class TightScraper:
    """Save gallery figures with ``bbox_inches="tight"`` so axis labels are never cut."""

    def __repr__(self) -> str:  # a stable repr keeps Sphinx's environment cache valid
        return "TightScraper"

    def __call__(self, *args, **kwargs):
        from sphinx_gallery.scrapers import matplotlib_scraper

        return matplotlib_scraper(*args, bbox_inches="tight", **kwargs)
