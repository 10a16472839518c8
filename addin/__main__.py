from addin.cli import run

run()
