"""Reading and writing items in exchange formats: the portal's own JSON, CSV and XLSX
(lossless), and GIFT, Moodle XML and QTI 2.1 as this portal and other systems write them
(foreign.py says what reading another system's file does; rejects.py hands back what
did not import)."""
