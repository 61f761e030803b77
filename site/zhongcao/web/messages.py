"""Turn domain error codes into user-facing text: zh-CN first, English second."""
from __future__ import annotations

from zhongcao.errors import DomainError

# Each domain keeps its own section; the key is the error's stable `code`.
GENERAL = {
    "domain_error": ("操作未能完成", "The action could not be completed"),
    "not_found": ("找不到该内容", "Not found"),
    "forbidden": ("你没有权限这样做", "You are not allowed to do that"),
    "invalid_input": ("输入有误", "Invalid input"),
    "conflict": ("内容已被占用", "Already taken"),
    "rate_limited": ("操作太频繁，请稍后再试", "Too many attempts, please try again later"),
    "csrf": ("页面已过期，请刷新后重试", "This page expired; reload and try again"),
}

ACCOUNTS: dict[str, tuple[str, str]] = {
    "email_invalid": ("邮箱格式不正确", "That email address is not valid"),
    "email_taken": ("该邮箱已注册", "That email is already registered"),
    "handle_invalid": ("用户名需为 3–30 位字母、数字或下划线，并以字母开头", "Handles are 3–30 letters, digits or underscores, starting with a letter"),
    "handle_reserved": ("该用户名为保留字", "That handle is reserved"),
    "handle_taken": ("该用户名已被占用", "That handle is taken"),
    "password_too_short": ("密码至少 12 个字符", "Passwords need at least 12 characters"),
    "password_too_long": ("密码最多 128 个字符", "Passwords can have at most 128 characters"),
    "password_too_common": ("这个密码太常见了，请换一个", "That password is too common; choose another"),
    "password_wrong": ("当前密码不正确", "The current password is not correct"),
    "sign_in_failed": ("邮箱或密码不正确", "Wrong email or password"),
    "display_name_required": ("请填写昵称", "Please enter a display name"),
    "pitch_too_short": ("请至少用 10 个字介绍你自己和你的内容", "Tell us about you and your content in at least 10 characters"),
    "already_creator": ("你已经是达人了", "You are already a creator"),
    "application_pending": ("你的申请正在审核中", "Your application is being reviewed"),
    "application_decided": ("该申请已处理", "That application was already decided"),
    "reset_token_invalid": ("重置链接无效、已使用或已过期，请重新获取", "This reset link is invalid, used or expired; ask for a new one"),
    "cannot_remove_own_admin": ("不能取消自己的管理员身份", "You cannot remove your own admin role"),
    "article_not_found": ("找不到该笔记，请填写编号或笔记链接", "No such article; enter its id or link"),
    "product_not_found": ("找不到该商品，请填写编号、slug 或商品链接", "No such product; enter its id, slug or link"),
}
CATALOG: dict[str, tuple[str, str]] = {
    "price_required": ("请填写价格", "Please enter a price"),
    "price_negative": ("价格不能为负数", "Prices cannot be negative"),
    "price_format": ("价格请写成数字，例如 199 或 199.00", "Write the price as a number, e.g. 199 or 199.00"),
    "price_too_many_decimals": ("价格最多两位小数（精确到分）", "Prices have at most two decimals (fen)"),
    "price_too_large": ("价格不能超过 ¥9,999,999.99", "Prices can be at most ¥9,999,999.99"),
    "percent_required": ("请填写佣金比例", "Please enter a commission rate"),
    "percent_negative": ("佣金比例不能为负数", "The commission rate cannot be negative"),
    "percent_format": ("佣金比例请写成数字，例如 12 或 12.5", "Write the rate as a number, e.g. 12 or 12.5"),
    "percent_too_many_decimals": ("佣金比例最多两位小数", "Rates have at most two decimals"),
    "percent_too_large": ("佣金比例不能超过 100%", "A rate cannot exceed 100%"),
    "count_required": ("请填写库存", "Please enter the stock"),
    "count_negative": ("库存不能为负数", "Stock cannot be negative"),
    "count_format": ("库存请写成整数，例如 20", "Write the stock as a whole number, e.g. 20"),
    "count_too_large": ("库存不能超过 1,000,000 件", "Stock can be at most 1,000,000"),
    "not_a_whole_number": ("请填写整数", "Please enter a whole number"),
    "list_price_below_price": ("划线价不能低于售价", "The list price cannot be below the price"),
    "commission_out_of_bounds": ("佣金比例超出平台允许范围", "The commission rate is outside the platform's range"),
    "slug_invalid": (
        "地址需为 3–80 位小写字母、数字或连字符，且不以连字符开头或结尾",
        "Slugs are 3–80 lowercase letters, digits or single hyphens, not at either end",
    ),
    "slug_taken": ("该地址已被占用", "That slug is already taken"),
    "shop_exists": ("你已经有一家店铺了", "You already have a shop"),
    "shop_required": ("请先开店", "Please create your shop first"),
    "name_required": ("请填写名称", "Please enter a name"),
    "name_zh_required": ("请填写中文名称", "Please enter the Chinese name"),
    "name_en_required": ("请填写英文名称", "Please enter the English name"),
    "title_required": ("请填写商品名称", "Please enter the product title"),
    "too_long": ("内容太长", "Too long"),
    "status_invalid": ("状态无效", "Unknown status"),
    "category_unknown": ("分类不存在", "Unknown category"),
}
ARTICLES: dict[str, tuple[str, str]] = {
    "write_needs_creator": ("只有达人可以写笔记", "Only creators can write articles"),
    "article_title_required": ("请填写标题", "Please enter a title"),
    "article_title_too_long": ("标题最多 120 个字", "Titles can have at most 120 characters"),
    "article_summary_too_long": ("摘要最多 300 个字", "Summaries can have at most 300 characters"),
    "article_body_too_long": ("正文太长了（最多 100000 个字符）", "The text is too long (at most 100,000 characters)"),
    "article_kind_invalid": ("请选择测评、攻略或笔记", "Choose review, guide or note"),
    "article_lang_invalid": ("语言代码不正确", "That language code is not valid"),
    "article_slug_invalid": ("链接名只能用小写字母、数字和连字符", "Slugs use lowercase letters, digits and hyphens"),
    "article_slug_taken": ("你已有一篇笔记使用这个链接名", "You already have an article with that slug"),
    "article_too_many_tags": ("最多 8 个标签", "At most 8 tags"),
    "article_tag_too_long": ("每个标签最多 20 个字", "Each tag can have at most 20 characters"),
    "article_cover_invalid": ("封面图片不可用", "That cover image cannot be used"),
    "article_not_publishable": ("还不能发布，请先修正下列问题", "Not published yet: fix the problems below first"),
    "not_an_admin": ("只有管理员可以这样做", "Only admins can do that"),
}
SOCIAL: dict[str, tuple[str, str]] = {
    "cannot_follow_self": ("不能关注自己", "You cannot follow yourself"),
    "not_a_creator": ("只能关注达人", "Only creators can be followed"),
    "comment_empty": ("评论不能为空", "Please write something first"),
    "comment_too_long": ("评论最多 2000 个字符", "Comments can have at most 2,000 characters"),
    "comment_rate_limited_minute": ("评论太频繁了：每分钟最多 5 条，请稍后再试", "Too many comments: at most 5 a minute, please wait a moment"),
    "comment_rate_limited_day": ("今天评论太多了：每天最多 50 条，明天再来吧", "Too many comments today: at most 50 a day, please come back tomorrow"),
    "comment_edit_window_closed": ("评论发布超过 10 分钟，已不能编辑", "Comments can only be edited within 10 minutes of posting"),
    "comment_not_yours": ("这不是你的评论", "That is not your comment"),
    "comment_hidden": ("该评论已被隐藏，不能编辑", "This comment was hidden and cannot be edited"),
    "comment_reply_unavailable": ("要回复的评论已不存在", "The comment you replied to is no longer there"),
    "cannot_report_own_comment": ("不能举报自己的评论", "You cannot report your own comment"),
}
MEDIA: dict[str, tuple[str, str]] = {
    "upload_too_large": ("图片不能超过 8 MB", "Images can be at most 8 MB"),
    "upload_empty": ("文件是空的", "The file is empty"),
    "upload_not_image": ("只能上传 JPEG、PNG、WebP 或 GIF 图片", "Only JPEG, PNG, WebP or GIF images"),
    "upload_too_many_pixels": ("图片尺寸过大", "The image has too many pixels"),
}
IMPORT: dict[str, tuple[str, str]] = {}

SEARCH: dict[str, tuple[str, str]] = {
    "search_query_cut": ("搜索词太长，只用了前 100 个字", "The search was long; only its first 100 characters were used"),
    "search_type_unknown": ("未知的搜索类型，已显示全部结果", "Unknown result type; showing everything"),
    "search_sort_unknown": ("未知的排序方式，已按相关度排序", "Unknown sort order; sorted by relevance"),
    "search_sort_products_only": ("按价格排序只适用于商品", "Sorting by price applies to products only"),
    "search_filters_products_only": ("分类、价格和库存筛选只适用于商品", "Category, price and stock filters apply to products only"),
    "search_category_unknown": ("没有这个分类，已忽略", "No such category; ignored"),
    "search_price_swapped": ("最低价高于最高价，已对调", "The lowest price was above the highest; swapped them"),
    "search_page_invalid": ("页码应为整数，已显示第 1 页", "Page numbers are whole numbers; showing page 1"),
}

SHARE: dict[str, tuple[str, str]] = {
    "share_target_unavailable": ("该内容已下架或不可分享", "This is no longer available to share"),
    "share_kind_invalid": ("只能分享笔记或商品", "Only articles and products can be shared"),
}

COMMERCE: dict[str, tuple[str, str]] = {
    "product_unavailable": ("该商品已下架", "This product is no longer available"),
    "out_of_stock": ("该商品已售罄", "This product is sold out"),
    "only_n_left": ("库存不足", "Not enough stock"),
    "quantity_invalid": ("数量请填写 1 以上的整数", "The quantity must be a whole number of at least 1"),
    "quantity_too_large": ("每件商品最多买 99 件", "At most 99 of one product per order"),
    "cart_empty": ("购物车是空的", "Your cart is empty"),
    "cart_has_problems": ("购物车里有商品库存不足或已下架，请先修改", "Some items in your cart are sold out or unavailable; change them first"),
    "checkout_expired": ("订单已取消或超时，不能再支付", "This order was cancelled or ran out of time and can no longer be paid"),
    "idempotency_key_invalid": ("页面已过期，请刷新后重试", "This page expired; reload and try again"),
    "idempotency_key_reused": ("页面已过期，请刷新后重试", "This page expired; reload and try again"),
    "address_required": ("请选择收货地址", "Please choose a shipping address"),
    "address_invalid": ("地址有误", "The address is not valid"),
    "too_many_addresses": ("最多保存 20 个地址", "You can keep at most 20 addresses"),
    "recipient_required": ("请填写收货人", "Please enter the recipient"),
    "recipient_too_long": ("收货人最多 40 个字", "The recipient can have at most 40 characters"),
    "mobile_required": ("请填写手机号", "Please enter a mobile number"),
    "mobile_too_long": ("手机号太长", "That mobile number is too long"),
    "mobile_invalid": ("请填写 11 位中国大陆手机号，如 138 0013 8000", "Enter an 11-digit mainland China mobile, e.g. 138 0013 8000"),
    "province_required": ("请填写省份", "Please enter the province"),
    "province_too_long": ("省份最多 20 个字", "The province can have at most 20 characters"),
    "city_required": ("请填写城市", "Please enter the city"),
    "city_too_long": ("城市最多 30 个字", "The city can have at most 30 characters"),
    "district_required": ("请填写区县", "Please enter the district"),
    "district_too_long": ("区县最多 30 个字", "The district can have at most 30 characters"),
    "detail_required": ("请填写详细地址", "Please enter the street address"),
    "detail_too_long": ("详细地址最多 200 个字", "The street address can have at most 200 characters"),
    "payment_provider_unknown": ("支付方式不可用", "That payment method is not available"),
    "payment_provider_unavailable": ("支付服务暂时不可用，请稍后再试", "The payment service is unavailable; please try again later"),
    "sandbox_refused": ("正式环境不提供沙箱支付", "Sandbox payments are not available on the live site"),
    "payment_mismatch": ("支付金额与订单不符", "The amount paid does not match the order"),
    "payment_ref_invalid": ("支付凭证无效", "The payment reference is not valid"),
}

LEDGER: dict[str, tuple[str, str]] = {
    "ledger_unbalanced": ("账目不平，已拒绝记账", "The ledger transaction does not balance and was refused"),
    "refund_amount_invalid": ("退款金额必须大于 0", "The refund amount must be more than zero"),
    "refund_exceeds_paid": ("退款金额超过了该商品实付金额", "The refund is more than was paid for this item"),
    "refund_unpaid": ("该订单尚未付款，不能退款", "This order was not paid, so it cannot be refunded"),
    "payout_below_minimum": ("可提现佣金未达到提现门槛", "Your confirmed commission is below the payout threshold"),
    "payout_already_open": ("你已有一笔提现申请在处理中", "You already have a payout request being processed"),
    "payout_not_found": ("找不到该提现申请", "No such payout request"),
    "payout_already_paid": ("该提现已标记为已付款", "This payout was already marked paid"),
    "month_invalid": ("月份格式应为 2026-11，已显示本月", "Months are written like 2026-11; showing this month"),
    "shop_required_for_sales": ("开店后才能查看销售数据", "Open a shop to see its sales"),
}

ORDERS: dict[str, tuple[str, str]] = {
    "order_not_found": ("找不到该订单", "No such order"),
    "illegal_transition": ("订单当前状态不允许这样操作", "The order's current status does not allow that"),
    "not_due": ("还没到自动处理的时间", "Not due yet"),
    "return_window_open": ("七天退货期还没结束", "The 7-day return window is still open"),
    "carrier_required": ("请填写快递公司", "Please enter the carrier"),
    "carrier_too_long": ("快递公司最多 40 个字", "The carrier can have at most 40 characters"),
    "tracking_number_invalid": ("运单号为 6–40 位字母、数字或连字符", "Tracking numbers are 6–40 letters, digits or hyphens"),
    "refund_not_found": ("找不到该退款申请", "No such refund request"),
    "refund_not_allowed": ("订单付款后才能申请退款", "Refunds can be requested once the order is paid"),
    "refund_window_closed": ("七天退货期已过，不能再申请退款", "The 7-day return window has closed; refunds can no longer be requested"),
    "refund_quantity_invalid": ("退款数量超出可退数量", "That is more than can still be refunded"),
    "refund_reason_too_long": ("退款原因最多 500 个字", "The reason can have at most 500 characters"),
    "refund_already_decided": ("该退款申请已处理", "That refund request was already decided"),
}

MESSAGES: dict[str, tuple[str, str]] = {}
for _section in (GENERAL, ACCOUNTS, CATALOG, ARTICLES, SOCIAL, MEDIA, IMPORT, SEARCH, SHARE, COMMERCE, LEDGER, ORDERS):
    MESSAGES.update(_section)


def text(code: str) -> str:
    """The bilingual message for a code, "中文 · English"."""
    zh, en = MESSAGES.get(code, MESSAGES["domain_error"])
    return f"{zh} · {en}"


def describe(error: DomainError) -> str:
    """The bilingual message for a domain error, with the error's own detail appended when it has one."""
    base = text(error.code)
    return f"{base}：{error.detail}" if error.detail and error.detail != error.code else base
