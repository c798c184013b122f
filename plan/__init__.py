"""The offline engine: run the program under Pulumi's mocks, then preview, render, diff, cost, policy."""
