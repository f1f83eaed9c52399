# embed.cmake -- turns the status page into C (run by src/http/CMakeLists.txt):
#   cmake -DIN=status.html -DOUT=http_page_asset.c -P embed.cmake
# writes `const unsigned char http_page_html[]` (the file's bytes, then a NUL)
# and `const unsigned long http_page_html_len` (without the NUL), so the page
# is part of the binary and no file is read at run time.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
file(WRITE ${OUT} "/* Generated from ${IN} by embed.cmake: do not edit. */\n"
  "const unsigned char http_page_html[] = {\n${body}0x00};\n"
  "const unsigned long http_page_html_len = ${bytes}UL;\n")
