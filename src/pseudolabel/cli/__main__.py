"""``python -m pseudolabel.cli``: the same as the ``pseudolabel`` console script."""

from pseudolabel.cli import main

if __name__ == "__main__":
    main()
