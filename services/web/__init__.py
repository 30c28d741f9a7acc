"""The HTML pages' own files: pygeoapi templates that name no other host, and the vendored
front-end assets they load (``static/vendor``, copied from npm by :mod:`.vendor`)."""
