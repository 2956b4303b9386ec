"""Four raisings of four different problems, the small organisation several matcher tests
build (each test file adds what it needs)."""

RAISINGS = [
    "Builds keep timing out",
    "Release notes are written the night before launch",
    "Staging deploys fail every Friday",
    "Nobody reviews the pull requests on time",
]
