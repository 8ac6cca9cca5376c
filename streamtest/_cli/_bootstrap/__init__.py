"""The folder ``streamtest record`` puts first on ``PYTHONPATH``: see ``sitecustomize``.

This file only makes the folder a package, so that it is installed with streamtest.
"""
