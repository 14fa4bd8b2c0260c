"""HTML from other systems becomes the portal's plain text, faithfully, and what plain
text cannot show is reported, never dropped."""

import pytest
from defusedxml import ElementTree as SafeET
from hypothesis import given
from hypothesis import strategies as st

from question_bank.formats import html_text
from question_bank.formats.html_text import element_to_text, html_to_text, plain_text


@pytest.mark.parametrize("html, text", [
    ("<p>第一段</p><p>第二段</p>", "第一段\n第二段"),
    ("<p>一行<br>两行<br/>三行</p>", "一行\n两行\n三行"),
    ("<p>文字<br></p><p>下一段</p>", "文字\n下一段"),
    ("<p>a</p><br>b", "a\n\nb"),
    ("<p>应当<strong>首先</strong><em>考虑</em><u>安全</u><span style='color:red'>。</span></p>",
     "应当首先考虑安全。"),
    ("<p>&lt;b&gt; &amp; &quot;引号&quot; &#20013;&#x6587; &ldquo;弯引号&rdquo;</p>",
     '<b> & "引号" 中文 “弯引号”'),
    ("<p>  Which   of the\n\tfollowing  </p>", "Which of the following"),
    ("<p>社会工作者\n应当</p>", "社会工作者应当"),
    ("<p>social\nwork</p>", "social work"),
    ("<p>应当（&nbsp; &nbsp;）。</p>", "应当（   ）。"),
    ("<p>&nbsp;</p><p>正文</p><p>&nbsp;</p>", "正文"),
    ("<ol><li>甲</li><li>乙</li></ol>", "1. 甲\n2. 乙"),
    ('<ol start="3"><li>丙</li></ol>', "3. 丙"),
    ("<ul><li>甲<ul><li>子项</li></ul></li><li>乙</li></ul>", "• 甲\n  • 子项\n• 乙"),
    ("<h3>标题</h3><blockquote>引文</blockquote><hr><div>正文</div>", "标题\n引文\n正文"),
    ("<p>a</p>\n\n\n<p><br><br><br><br></p><p>b</p>", "a\n\nb"),
    ("<style>p {color: red}</style><p>正文</p><!-- 注释 -->", "正文"),
    ("<pre>  缩进\n    保留</pre>", "  缩进\n    保留"),
])
def test_html_becomes_plain_text_as_a_reader_sees_it(html, text):
    converted = html_to_text(html)
    assert converted.text == text
    assert converted.unshowable == ()


@pytest.mark.parametrize("html, kind", [
    ('<p>见下图<img src="@@PLUGINFILE@@/a.png" alt="图"></p>', "img"),
    ("<table><tr><td>1</td></tr></table>", "table"),
    ('<video src="a.mp4"></video>', "video"),
    ('<iframe src="https://example.org"></iframe>', "iframe"),
    ("<math><mi>x</mi></math>", "math"),
    ("<p>m<sup>2</sup></p>", "sup"),
    ("<p>H<sub>2</sub>O</p>", "sub"),
    ("<p>公式 $$x^2$$</p>", "TeX"),
    (r"<p>公式 \(\alpha\)</p>", "TeX"),
    (r"<p>公式 \[\beta\]</p>", "TeX"),
    ("<script>alert(1)</script>", "script"),
])
def test_what_plain_text_cannot_show_is_reported(html, kind):
    assert kind in html_to_text(html).unshowable


def test_a_link_keeps_its_text_and_reports_the_address_dropped():
    converted = html_to_text('<p>参见<a href="https://example.org/x">说明</a>。</p>')
    assert converted.text == "参见说明。" and converted.dropped_links


def test_text_this_portal_wrote_is_taken_as_it_is():
    converted = html_to_text("<div>  缩进\t制表<br/>第二行  </div>", preserve=True)
    assert converted.text == "  缩进\t制表\n第二行  "


def test_plain_text_is_trimmed_line_by_line_and_tex_is_reported():
    assert plain_text("\n  第一行  \n\n\n\n第二行\n").text == "第一行\n\n第二行"
    assert plain_text("$$x$$").unshowable == ("TeX",)


def test_xhtml_elements_in_any_namespace_convert_alike():
    root = SafeET.fromstring(
        '<q:itemBody xmlns:q="urn:q" xmlns:m="http://www.w3.org/1998/Math/MathML">'
        "<q:div><q:p>第一段</q:p><q:p>第<q:strong>二</q:strong>段</q:p></q:div>"
        "<q:skip>不要</q:skip>尾<m:math><m:mi>x</m:mi></m:math></q:itemBody>")
    converted = element_to_text(root, skip=lambda element: element.tag.endswith("skip"))
    assert converted.text == "第一段\n第二段\n尾〔公式〕"
    assert converted.unshowable == ("math",)


@pytest.mark.parametrize("html, text", [
    ('<p>见下图<img src="a.png" alt="生态图"></p>', "见下图〔图片：生态图〕"),
    ("<p>表：</p><table><tr><td>甲</td><td>3 人</td></tr></table>", "表：\n〔表格〕\n甲\n3 人"),
    ("<p>标准误 <math><mfrac><mi>σ</mi><mi>n</mi></mfrac></math> 变小</p>", "标准误 〔公式〕 变小"),
    ('<p>观看<video><source src="a.mp4"></video></p>', "观看〔媒体〕"),
])
def test_the_text_shows_where_content_it_cannot_show_was(html, text):
    assert html_to_text(html).text == text


_FRAGMENTS = st.lists(st.one_of(
    st.sampled_from(["<p>", "</p>", "<br>", "<br/>", "<BR />", "<strong>",
                     '<p dir="ltr" style="text-align: left;">', "</strong>",
                     "<span class='x'>", "</span>", "<div>", "</div>",
                     "<em>", "</em>", "<h3 id=a>", "</h3>", "<p/>", "</P >", "&nbsp;", "&amp;",
                     "&lt;b&gt;", "&#x4e2d;", "&", "\n", "  ", "\t", "（&nbsp; &nbsp;）", ">",
                     "<!-- c -->", "<b", "<p title='a>b'>", "<ol><li>"]),
    st.text(alphabet="社会工作者 ab，。\n", max_size=6)), max_size=25)


@given(_FRAGMENTS)
def test_plain_markup_converts_exactly_as_the_html_parser_does(fragments):
    html = "".join(fragments)
    fast = html_text.html_to_text(html)
    builder = html_text._Builder(False)
    parser = html_text._Parser(builder)
    parser.feed(html)
    parser.close()
    assert fast == builder.result()


_MARKS = [html_text._SEGMENT, html_text._SOFT, html_text._KEPT, html_text._NBSP]
_ONE_LINE = st.builds(  # a block of one line, as most question text is
    "{}{}{}".format, st.text(alphabet=[html_text._SOFT, html_text._SEGMENT, " "], max_size=3),
    st.text(alphabet=[" ", "a", "社", html_text._NBSP], max_size=12),
    st.text(alphabet=[html_text._SOFT, html_text._SEGMENT, " "], max_size=3))


@given(st.one_of(_ONE_LINE, st.text(alphabet=[" ", "\n", "a", "社", *_MARKS], max_size=30)))
def test_one_line_text_is_tidied_as_text_of_many_lines_is(text):
    assert html_text._tidy(text) == html_text._tidy_lines(text)


_PARAGRAPH_TEXT = st.lists(st.one_of(
    st.sampled_from(["&nbsp;", "&amp;", "&amp;nbsp;", "&nbsp", "&lt;b&gt;", "&#10;", "&#13;",
                     "&#12;", "\t", "  ", "\u3000", "\xa0", "$$x$$", "\\(a\\)", "&", ">",
                     html_text._SOFT]),
    st.text(alphabet="社会工作者 ab，。", max_size=6)), max_size=12)


@given(st.sampled_from(["<p>", '<p dir="ltr" style="text-align: left;">', "<DIV class=x>",
                        "<p >"]),
       _PARAGRAPH_TEXT, st.sampled_from(["", " ", "\n", "\u3000", "\t\n "]))
def test_one_paragraph_converts_exactly_as_the_html_parser_does(start, parts, around):
    tag = start[1:].split(" ")[0].rstrip(">")
    html = f"{around}{start}{''.join(parts)}</{tag}>{around}"
    builder = html_text._Builder(False)
    parser = html_text._Parser(builder)
    parser.feed(html)
    parser.close()
    assert html_text.html_to_text(html) == builder.result()


def test_moodle_paragraphs_take_the_short_way():
    html = '<p dir="ltr" style="text-align: left;">社会工作者 &amp; 社区&nbsp;</p>'
    assert html_text._one_line(html) == html_to_text(html, preserve=False)
    assert html_text._one_line(html).text == "社会工作者 & 社区"
    assert html_text._one_line("<p>a<br>b</p>") is None
