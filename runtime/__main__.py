"""``python -m postag …`` runs the ``postag`` command (as the console script does)."""

from .cli import main

if __name__ == "__main__":
    main()
