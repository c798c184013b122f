"""`python -m tests.warm`: plan the shipped stacks into the tests' plan cache, which also compiles
the modules they import into the bytecode cache; `make test` runs it while the checkov venv and
the npm packages install, so the test workers start with both."""

from tests.helpers import SHIPPED_STACK_FILES, shipped_plan

if __name__ == "__main__":
    for stack_file in SHIPPED_STACK_FILES:
        shipped_plan(stack_file)
