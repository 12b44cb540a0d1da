"""Great Expectations' Data Docs page views, with Jinja's bytecode cache.

GX renders Data Docs pages from Jinja templates, and each of its page views makes a Jinja
environment of its own, which compiles every template it uses from source: in each new
process, 36 compilations for the night's pages, 0.07-0.09 s of the 0.12-0.14 s build. These
views are GX's own with a :class:`jinja2.FileSystemBytecodeCache` added: a template is
compiled once and then loaded (the cache is keyed on the template's name and a checksum of
its source, so a GX upgrade that changes a template compiles it again). The pages are the
same.

:class:`~beatwatch.validation.SuiteRunner` names them in the project's Data Docs sites
(``site_section_builders``' and ``site_index_builder``'s ``view``), GX's documented way to
choose a site's view classes. The cache lives in Jinja's own folder for it, one per user in
the system's temporary folder (made private to the user).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import jinja2
import jinja2.bccache
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

MODULE = __name__
"""The ``module_name`` of these views in a GX site configuration."""

log = logging.getLogger(__name__)


class BestEffortBytecodeCache(jinja2.FileSystemBytecodeCache):
    """A bytecode cache that never fails a page: compiled code it cannot store (its folder
    gone, a full disk) is only not cached. (GX would log the error and leave the page out.)
    Jinja already treats a missing or unreadable cache file as no cache."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.debug("Jinja bytecode not cached: %s", exc)


@cache
def bytecode_cache() -> jinja2.BytecodeCache:
    """The cache every view's environment shares (made on first use, in Jinja's folder)."""
    return BestEffortBytecodeCache()


class _CachedTemplates:
    """Before a GX view class: its Jinja environment gets the shared bytecode cache."""

    env: jinja2.Environment

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()


class CachedPageView(_CachedTemplates, DefaultJinjaPageView):
    """GX's page view (suite and validation pages), with compiled templates cached."""


class CachedIndexPageView(_CachedTemplates, DefaultJinjaIndexPageView):
    """GX's index page view, with compiled templates cached."""


def with_cached_views(site: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Data Docs site's configuration whose pages use the views above.

    Sections the site turned off (configured as nothing), and views the site chose itself,
    are left as they are; a site that is not GX's ``SiteBuilder`` is returned unchanged.
    """
    if site.get("class_name", "SiteBuilder") != "SiteBuilder":
        return dict(site)
    config = {**site}
    sections = dict(config.get("site_section_builders") or {})
    for name in ("expectations", "validations", "profiling"):
        section = sections.get(name, {})
        if isinstance(section, dict) and "view" not in section:
            sections[name] = {**section, "view": _view("CachedPageView")}
    config["site_section_builders"] = sections
    index = dict(config.get("site_index_builder") or {"class_name": "DefaultSiteIndexBuilder"})
    index.setdefault("view", _view("CachedIndexPageView"))
    config["site_index_builder"] = index
    return config


def _view(class_name: str) -> dict[str, str]:
    return {"module_name": MODULE, "class_name": class_name}
