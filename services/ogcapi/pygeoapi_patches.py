"""A correction to pygeoapi 0.24 that the service cannot work without: applied once, by
:func:`apply`, when an :class:`~services.ogcapi.service.OgcService` is made.

pygeoapi translates its configuration for each HTML page (``l10n.translate_struct(config,
locale, is_config=True)``) and caches the result in a module-level dict keyed by the locale
alone. The first configuration rendered in a language then serves every later page in that
language, whatever ``API`` renders it: a server reached as ``127.0.0.1`` and then as
``localhost`` linked its assets to the first host (blocked by the page's
Content-Security-Policy), and a collection published after the first page had no entry in
the cached configuration (its page failed). The cache here is keyed by the configuration
object and the locale; it holds the configuration itself, so an id is never reused while
its entry lives.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final

CACHED_CONFIGS: Final = 64
"""Translated configurations kept (base URLs × languages; the service keeps 16 APIs)."""

_applied = False
_lock = threading.Lock()


class _NeverCached(dict[Any, Any]):
    """Stands in for pygeoapi's locale-keyed cache: nothing is found, nothing is kept."""

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


def apply() -> None:
    """Key pygeoapi's translated-configuration cache by configuration (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        from pygeoapi import l10n

        original = l10n.translate_struct
        cache: OrderedDict[tuple[int, str], tuple[Any, Any]] = OrderedDict()

        def translate_struct(struct: Any, locale_: Any, is_config: bool = False) -> Any:
            if not is_config or not struct or not locale_:
                return original(struct, locale_, is_config)
            key = (id(struct), str(locale_))
            with _lock:
                found = cache.get(key)
                if found is not None and found[0] is struct:
                    cache.move_to_end(key)
                    return found[1]
            translated = original(struct, locale_, True)
            with _lock:
                cache[key] = (struct, translated)
                while len(cache) > CACHED_CONFIGS:
                    cache.popitem(last=False)
            return translated

        l10n._cfg_cache = _NeverCached()  # the cache being replaced
        l10n.translate_struct = translate_struct
        _applied = True
