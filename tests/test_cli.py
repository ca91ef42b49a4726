import subprocess
import sys

from analysis.__main__ import main


def test_help_lists_commands_and_exit_codes():
    completed = subprocess.run([sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True)
    assert completed.returncode == 0
    assert "Exit codes: 0 ok, 1 data problems found, 2 usage" in completed.stdout


def test_no_command_and_bad_command_are_usage_errors(capsys):
    assert main([]) == 2
    completed = subprocess.run([sys.executable, "-m", "analysis", "frobnicate"], capture_output=True, text=True)
    assert completed.returncode == 2
    assert "invalid choice" in completed.stderr
