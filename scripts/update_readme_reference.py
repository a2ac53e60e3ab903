"""Replaces the configuration reference between the markers in README.md with the given file."""
import re
import sys
from pathlib import Path

readme = Path(__file__).resolve().parents[1] / "README.md"
table = Path(sys.argv[1]).read_text()
text = readme.read_text()
begin = "<!-- BEGIN CONFIG REFERENCE (generated: openwit config reference) -->\n"
end = "<!-- END CONFIG REFERENCE -->"
new, n = re.subn(re.escape(begin) + ".*?" + re.escape(end), lambda _: begin + table + end, text, flags=re.S)
if n != 1:
    sys.exit("README.md: reference markers not found")
readme.write_text(new)
print("README.md: configuration reference updated")
