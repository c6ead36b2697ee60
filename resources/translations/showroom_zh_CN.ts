<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name />
    <message>
        <source>Creating demo data…</source>
        <translation>正在生成演示数据…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Showroom</source>
        <translation>Showroom 展厅客户管理</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Log an interaction</source>
        <translation>记录沟通</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>沟通方式</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>方向</translation>
    </message>
    <message>
        <source>What was discussed</source>
        <translation>沟通了什么</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>沟通内容</translation>
    </message>
    <message>
        <source>For example: will visit on Saturday</source>
        <translation>例如：周六来店</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Schedule on</source>
        <translation>安排在</translation>
    </message>
    <message>
        <source>Next follow-up</source>
        <translation>下次跟进</translation>
    </message>
    <message>
        <source>Change intent level</source>
        <translation>调整意向级别</translation>
    </message>
    <message>
        <source>New level</source>
        <translation>新级别</translation>
    </message>
    <message>
        <source>Why was the lead lost? For example: bought a competitor's car</source>
        <translation>为什么战败？例如：已购买竞品车型</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>A lost lead awaits a manager's approval before it is closed.</source>
        <translation>战败申请需经理审批后才会关闭。</translation>
    </message>
    <message>
        <source>Assign a salesperson</source>
        <translation>分配销售顾问</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <source>Salesperson</source>
        <translation>销售顾问</translation>
    </message>
    <message>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <source>Add a vehicle</source>
        <translation>添加车辆</translation>
    </message>
    <message>
        <source>17 characters</source>
        <translation>17位</translation>
    </message>
    <message>
        <source>VIN</source>
        <translation>车架号</translation>
    </message>
    <message>
        <source>For example: 粤B·12345</source>
        <translation>例如：粤B·12345</translation>
    </message>
    <message>
        <source>Plate</source>
        <translation>车牌</translation>
    </message>
    <message>
        <source>For example: Tiguan L 330TSI</source>
        <translation>例如：途观L 330TSI</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>车型</translation>
    </message>
    <message>
        <source>Colour</source>
        <translation>颜色</translation>
    </message>
    <message>
        <source>Purchase date</source>
        <translation>购车日期</translation>
    </message>
    <message>
        <source>km</source>
        <translation>公里</translation>
    </message>
    <message>
        <source>Mileage</source>
        <translation>里程</translation>
    </message>
    <message>
        <source>VIN already on file</source>
        <translation>车架号已登记</translation>
    </message>
    <message>
        <source>This VIN is on file for %1. Add the vehicle to this customer anyway?</source>
        <translation>该车架号已登记在%1名下。仍要添加到当前客户吗？</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Outcome: %1</source>
        <translation>结果：%1</translation>
    </message>
    <message>
        <source>← Back to list</source>
        <translation>← 返回列表</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <source>Log interaction</source>
        <translation>记录沟通</translation>
    </message>
    <message>
        <source>Change level</source>
        <translation>调整级别</translation>
    </message>
    <message>
        <source>Assign</source>
        <translation>分配</translation>
    </message>
    <message>
        <source>Add vehicle</source>
        <translation>添加车辆</translation>
    </message>
    <message>
        <source>Export data</source>
        <translation>导出资料</translation>
    </message>
    <message>
        <source>Export everything held about this customer as JSON and PDF (PIPL request)</source>
        <translation>导出本店保存的该客户全部资料（JSON 和 PDF，个人信息查阅请求）</translation>
    </message>
    <message>
        <source>Erase…</source>
        <translation>删除个人信息…</translation>
    </message>
    <message>
        <source>Erase this customer's personal data (PIPL request)</source>
        <translation>删除该客户的个人信息（个人信息删除请求）</translation>
    </message>
    <message>
        <source>VIP</source>
        <translation>VIP</translation>
    </message>
    <message>
        <source>Approve lost</source>
        <translation>批准战败</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>驳回</translation>
    </message>
    <message>
        <source>Profile</source>
        <translation>基本资料</translation>
    </message>
    <message>
        <source>Reveal</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Show the full phone numbers, ID number and birthday</source>
        <translation>显示完整的电话号码、身份证号和生日</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Contact person</source>
        <translation>联系人</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>电话</translation>
    </message>
    <message>
        <source>ID number</source>
        <translation>身份证号</translation>
    </message>
    <message>
        <source>Birthday</source>
        <translation>生日</translation>
    </message>
    <message>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>电子邮箱</translation>
    </message>
    <message>
        <source>WeChat ID</source>
        <translation>微信号</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Expected purchase</source>
        <translation>预计购车</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>No follow-up is scheduled.</source>
        <translation>暂无跟进安排。</translation>
    </message>
    <message>
        <source>Intent level history</source>
        <translation>意向级别历史</translation>
    </message>
    <message>
        <source>The level has not been set yet.</source>
        <translation>尚未设定意向级别。</translation>
    </message>
    <message>
        <source>Consent</source>
        <translation>个人信息授权</translation>
    </message>
    <message>
        <source>No consent recorded: care, reminders and surveys leave them out.</source>
        <translation>尚无授权记录：关怀、保养提醒和满意度调查名单不会包含该客户。</translation>
    </message>
    <message>
        <source>Record…</source>
        <translation>记录…</translation>
    </message>
    <message>
        <source>Vehicles</source>
        <translation>车辆</translation>
    </message>
    <message>
        <source>No vehicles yet.</source>
        <translation>暂无车辆。</translation>
    </message>
    <message>
        <source>Timeline</source>
        <translation>客户动态</translation>
    </message>
    <message>
        <source>Nothing has happened yet. Log the first interaction.</source>
        <translation>暂无记录。请记录第一次沟通。</translation>
    </message>
    <message>
        <source>This customer is no longer on file.</source>
        <translation>该客户已不在档案中。</translation>
    </message>
    <message>
        <source>Hide</source>
        <translation>隐藏</translation>
    </message>
    <message>
        <source>a former colleague</source>
        <translation>已离职同事</translation>
    </message>
    <message>
        <source>Salesperson: %1 · Stage: %2 · On file since %3</source>
        <translation>销售顾问：%1 · 阶段：%2 · 建档于 %3</translation>
    </message>
    <message>
        <source>overdue by %1 days</source>
        <translation>已逾期%1天</translation>
    </message>
    <message>
        <source>today</source>
        <translation>今天</translation>
    </message>
    <message>
        <source>in %1 days</source>
        <translation>%1天后</translation>
    </message>
    <message>
        <source>Owner: %1</source>
        <translation>负责人：%1</translation>
    </message>
    <message>
        <source>%1 → %2</source>
        <translation>%1 → %2</translation>
    </message>
    <message>
        <source>%1 by %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Reason: %1</source>
        <translation>原因：%1</translation>
    </message>
    <message>
        <source>agrees</source>
        <translation>同意</translation>
    </message>
    <message>
        <source>refuses</source>
        <translation>不同意</translation>
    </message>
    <message>
        <source>%1 km</source>
        <translation>%1 公里</translation>
    </message>
    <message>
        <source>Reject lost request</source>
        <translation>驳回战败申请</translation>
    </message>
    <message>
        <source>Note for the salesperson (optional)</source>
        <translation>给销售顾问的说明（选填）</translation>
    </message>
    <message>
        <source>same phone number</source>
        <translation>电话相同</translation>
    </message>
    <message>
        <source>same ID number</source>
        <translation>身份证号相同</translation>
    </message>
    <message>
        <source>same VIN</source>
        <translation>车架号相同</translation>
    </message>
    <message>
        <source>same email</source>
        <translation>邮箱相同</translation>
    </message>
    <message>
        <source>similar name</source>
        <translation>姓名相近</translation>
    </message>
    <message>
        <source>Save anyway</source>
        <translation>仍然保存</translation>
    </message>
    <message>
        <source>Not the same person? Save as a separate customer.</source>
        <translation>不是同一人？作为新客户保存。</translation>
    </message>
    <message>
        <source>This customer may already be on file.</source>
        <translation>该客户可能已建档。</translation>
    </message>
    <message>
        <source>These customers on file may be the same person.</source>
        <translation>以下已建档客户可能是同一人。</translation>
    </message>
    <message>
        <source>Open existing</source>
        <translation>打开已有客户</translation>
    </message>
    <message>
        <source>Merge</source>
        <translation>合并</translation>
    </message>
    <message>
        <source>New customer</source>
        <translation>新建客户</translation>
    </message>
    <message>
        <source>Edit customer</source>
        <translation>编辑客户</translation>
    </message>
    <message>
        <source>Basic information</source>
        <translation>基本信息</translation>
    </message>
    <message>
        <source>Add a user</source>
        <translation>添加用户</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <source>First password</source>
        <translation>初始密码</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>用户管理</translation>
    </message>
    <message>
        <source>Add a user…</source>
        <translation>添加用户…</translation>
    </message>
    <message>
        <source>Role:</source>
        <translation>角色：</translation>
    </message>
    <message>
        <source>Set role</source>
        <translation>设置角色</translation>
    </message>
    <message>
        <source>Reset password…</source>
        <translation>重设密码…</translation>
    </message>
    <message>
        <source>Deactivate</source>
        <translation>停用</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>在用</translation>
    </message>
    <message>
        <source>Deactivated</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>No password</source>
        <translation>未设密码</translation>
    </message>
    <message>
        <source>Reactivate</source>
        <translation>重新启用</translation>
    </message>
    <message>
        <source>Reset password</source>
        <translation>重设密码</translation>
    </message>
    <message>
        <source>New password for %1:</source>
        <translation>%1 的新密码：</translation>
    </message>
    <message>
        <source>Mobile, or landline with area code</source>
        <translation>手机号，或带区号的座机</translation>
    </message>
    <message>
        <source>Phone 2</source>
        <translation>电话2</translation>
    </message>
    <message>
        <source>Phone 3</source>
        <translation>电话3</translation>
    </message>
    <message>
        <source>Not given</source>
        <translation>未填写</translation>
    </message>
    <message>
        <source>18-digit resident ID</source>
        <translation>18位居民身份证号</translation>
    </message>
    <message>
        <source>Sales</source>
        <translation>销售信息</translation>
    </message>
    <message>
        <source>Intent level</source>
        <translation>意向级别</translation>
    </message>
    <message>
        <source>Why was the lead lost?</source>
        <translation>为什么战败？</translation>
    </message>
    <message>
        <source>Reason lost</source>
        <translation>战败原因</translation>
    </message>
    <message>
        <source>A lost lead awaits a manager's approval.</source>
        <translation>战败需经理审批。</translation>
    </message>
    <message>
        <source>VIP customer</source>
        <translation>VIP客户</translation>
    </message>
    <message>
        <source>First vehicle (optional)</source>
        <translation>首辆车（选填）</translation>
    </message>
    <message>
        <source>Shown masked. Leave it as it is to keep it, or type a new one.</source>
        <translation>已遮蔽显示。保持不变即保留原值，或输入新的号码。</translation>
    </message>
    <message>
        <source>Open existing customer</source>
        <translation>打开已有客户</translation>
    </message>
    <message>
        <source>Discard what you typed here and open %1?</source>
        <translation>放弃已填写的内容并打开%1吗？</translation>
    </message>
    <message>
        <source>Add what you typed to %1 instead of creating a new customer? Empty fields of %1 are filled in from this form.</source>
        <translation>将填写的内容并入%1，而不新建客户？%1的空白字段将用本表内容补全。</translation>
    </message>
    <message>
        <source>Merge this customer into %1? Vehicles, interactions and follow-ups move to %1, and this record is retired.</source>
        <translation>将此客户合并到%1吗？车辆、沟通记录和跟进任务将转到%1名下，此档案将停用。</translation>
    </message>
    <message>
        <source>Merge customers</source>
        <translation>合并客户</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>Discard the changes you made to this customer?</source>
        <translation>放弃对该客户的修改吗？</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>阶段</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <source>Click to sort by this column</source>
        <translation>点击按此列排序</translation>
    </message>
    <message>
        <source>Follow-up overdue</source>
        <translation>跟进逾期</translation>
    </message>
    <message>
        <source>Masked to protect personal information</source>
        <translation>为保护个人信息已隐藏部分内容</translation>
    </message>
    <message>
        <source>Something went wrong</source>
        <translation>出错了</translation>
    </message>
    <message>
        <source>The action could not be completed. Your saved data is safe.</source>
        <translation>操作未能完成。已保存的数据不受影响。</translation>
    </message>
    <message>
        <source>Details are written to the log file:</source>
        <translation>详细信息已写入日志文件：</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>复制详细信息</translation>
    </message>
    <message>
        <source>Cannot do that</source>
        <translation>无法完成操作</translation>
    </message>
    <message>
        <source>H · buys within 7 days</source>
        <translation>H级 · 7天内购车</translation>
    </message>
    <message>
        <source>A · buys within 15 days</source>
        <translation>A级 · 15天内购车</translation>
    </message>
    <message>
        <source>B · buys within 30 days</source>
        <translation>B级 · 30天内购车</translation>
    </message>
    <message>
        <source>C · not now</source>
        <translation>C级 · 暂不购车</translation>
    </message>
    <message>
        <source>O · ordered</source>
        <translation>O级 · 已订车</translation>
    </message>
    <message>
        <source>F · lost</source>
        <translation>F级 · 战败</translation>
    </message>
    <message>
        <source>Not rated</source>
        <translation>未评级</translation>
    </message>
    <message>
        <source>Prospect</source>
        <translation>潜在客户</translation>
    </message>
    <message>
        <source>Evaluating</source>
        <translation>评估中</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Owner in service</source>
        <translation>保有客户</translation>
    </message>
    <message>
        <source>Lapsed</source>
        <translation>流失</translation>
    </message>
    <message>
        <source>Lost</source>
        <translation>战败</translation>
    </message>
    <message>
        <source>Walk-in</source>
        <translation>到店</translation>
    </message>
    <message>
        <source>Web</source>
        <translation>网络</translation>
    </message>
    <message>
        <source>Referral</source>
        <translation>转介绍</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>活动</translation>
    </message>
    <message>
        <source>Visit</source>
        <translation>到店</translation>
    </message>
    <message>
        <source>Phone call</source>
        <translation>电话</translation>
    </message>
    <message>
        <source>SMS</source>
        <translation>短信</translation>
    </message>
    <message>
        <source>WeChat</source>
        <translation>微信</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <source>Inbound</source>
        <translation>客户主动</translation>
    </message>
    <message>
        <source>Outbound</source>
        <translation>顾问主动</translation>
    </message>
    <message>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <source>Person</source>
        <translation>个人</translation>
    </message>
    <message>
        <source>Company</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Service advisor</source>
        <translation>服务顾问</translation>
    </message>
    <message>
        <source>Manager</source>
        <translation>经理</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>awaiting approval</source>
        <translation>待审批</translation>
    </message>
    <message>
        <source>approved</source>
        <translation>已批准</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>已驳回</translation>
    </message>
    <message>
        <source>Customers</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Follow-ups</source>
        <translation>跟进</translation>
    </message>
    <message>
        <source>Test drives</source>
        <translation>试驾</translation>
    </message>
    <message>
        <source>Service</source>
        <translation>售后预约</translation>
    </message>
    <message>
        <source>Quotes</source>
        <translation>报价</translation>
    </message>
    <message>
        <source>Surveys</source>
        <translation>调查</translation>
    </message>
    <message>
        <source>Complaints</source>
        <translation>投诉</translation>
    </message>
    <message>
        <source>Reports</source>
        <translation>报表</translation>
    </message>
    <message>
        <source>Sync conflicts</source>
        <translation>同步冲突</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>This area is not available yet. It comes in a later release.</source>
        <translation>此功能尚未开放，将在后续版本中提供。</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账户</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>锁定</translation>
    </message>
    <message>
        <source>Change password…</source>
        <translation>修改密码…</translation>
    </message>
    <message>
        <source>Your password was changed.</source>
        <translation>密码已修改。</translation>
    </message>
    <message>
        <source>Store: %1</source>
        <translation>门店：%1</translation>
    </message>
    <message>
        <source>User: %1 (%2)</source>
        <translation>用户：%1（%2）</translation>
    </message>
    <message>
        <source>Database: %1</source>
        <translation>数据库：%1</translation>
    </message>
    <message>
        <source>never</source>
        <translation>从未</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>刚刚</translation>
    </message>
    <message>
        <source>%1 min ago</source>
        <translation>%1分钟前</translation>
    </message>
    <message>
        <source>%1 h ago</source>
        <translation>%1小时前</translation>
    </message>
    <message>
        <source>%1 min</source>
        <translation>%1分钟</translation>
    </message>
    <message>
        <source>%1 h</source>
        <translation>%1小时</translation>
    </message>
    <message>
        <source>%1 days</source>
        <translation>%1天</translation>
    </message>
    <message>
        <source>This laptop's clock is %1 behind; sync is unaffected.</source>
        <translation>这台电脑的时钟慢了 %1；同步不受影响。</translation>
    </message>
    <message>
        <source>This laptop's clock is %1 ahead; sync is unaffected.</source>
        <translation>这台电脑的时钟快了 %1；同步不受影响。</translation>
    </message>
    <message>
        <source>uploading</source>
        <translation>上传中</translation>
    </message>
    <message>
        <source>downloading</source>
        <translation>下载中</translation>
    </message>
    <message>
        <source>checking</source>
        <translation>校验中</translation>
    </message>
    <message>
        <source>connecting</source>
        <translation>连接中</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <source>Connect to server…</source>
        <translation>连接服务器…</translation>
    </message>
    <message>
        <source>Sync</source>
        <translation>同步</translation>
    </message>
    <message>
        <source>Sync now (F9) or connect this laptop to a server</source>
        <translation>立即同步（F9），或将这台电脑连接到服务器</translation>
    </message>
    <message>
        <source>Sync: …</source>
        <translation>同步：…</translation>
    </message>
    <message>
        <source>Pending: %1</source>
        <translation>待上传：%1</translation>
    </message>
    <message>
        <source>Changes on this laptop not yet sent to the server</source>
        <translation>这台电脑上尚未发送到服务器的修改</translation>
    </message>
    <message>
        <source>Conflicts: %1</source>
        <translation>冲突：%1</translation>
    </message>
    <message>
        <source>Rejected: %1</source>
        <translation>被拒绝：%1</translation>
    </message>
    <message>
        <source>Open the conflict review page</source>
        <translation>打开同步冲突页面</translation>
    </message>
    <message>
        <source>Sync: not set up</source>
        <translation>同步：未设置</translation>
    </message>
    <message>
        <source>Sync: syncing…</source>
        <translation>同步：正在同步…</translation>
    </message>
    <message>
        <source>Sync: offline · last %1</source>
        <translation>同步：离线 · 上次 %1</translation>
    </message>
    <message>
        <source>Sync: failed · last %1</source>
        <translation>同步：失败 · 上次 %1</translation>
    </message>
    <message>
        <source>Sync: waiting for the first sync</source>
        <translation>同步：等待首次同步</translation>
    </message>
    <message>
        <source>Sync: online · last %1</source>
        <translation>同步：在线 · 上次 %1</translation>
    </message>
    <message>
        <source>This laptop is not connected to a sync server. Use Sync → Connect to server…</source>
        <translation>这台电脑尚未连接同步服务器。请使用 同步 → 连接服务器…</translation>
    </message>
    <message>
        <source>Server: %1</source>
        <translation>服务器：%1</translation>
    </message>
    <message>
        <source>Last attempt: %1</source>
        <translation>上次尝试：%1</translation>
    </message>
    <message>
        <source>Last successful sync: %1</source>
        <translation>上次成功同步：%1</translation>
    </message>
    <message>
        <source>Pending changes: %1</source>
        <translation>待上传的修改：%1</translation>
    </message>
    <message>
        <source>Last error: %1</source>
        <translation>上次错误：%1</translation>
    </message>
    <message>
        <source>Connect to server</source>
        <translation>连接服务器</translation>
    </message>
    <message>
        <source>Connect this laptop to the store's sync server</source>
        <translation>将这台电脑连接到门店的同步服务器</translation>
    </message>
    <message>
        <source>Ask your administrator for the server address and a one-time enrolment code. The code works once and expires.</source>
        <translation>请向管理员索取服务器地址和一次性注册码。注册码只能使用一次，并会过期。</translation>
    </message>
    <message>
        <source>As printed by the administrator</source>
        <translation>按管理员给出的原样填写</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>服务器地址</translation>
    </message>
    <message>
        <source>Enrolment code</source>
        <translation>注册码</translation>
    </message>
    <message>
        <source>Device name</source>
        <translation>设备名称</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>正在连接 %1…</translation>
    </message>
    <message>
        <source>Connected to %1. The first sync is running…</source>
        <translation>已连接到 %1。正在进行首次同步…</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Connected to %1. First sync finished: %2 records received, %3 sent.</source>
        <translation>已连接到 %1。首次同步完成：收到 %2 条记录，发送 %3 条。</translation>
    </message>
    <message>
        <source>Connected, but the first sync failed: %1. It will be retried automatically.</source>
        <translation>已连接，但首次同步失败：%1。系统会自动重试。</translation>
    </message>
    <message>
        <source>Same field changed on two laptops</source>
        <translation>同一字段在两台电脑上被修改</translation>
    </message>
    <message>
        <source>Edited on one laptop, deleted on another</source>
        <translation>一台电脑修改、另一台电脑删除</translation>
    </message>
    <message>
        <source>Demo car booked twice</source>
        <translation>试驾车被重复预约</translation>
    </message>
    <message>
        <source>Decided differently on two laptops</source>
        <translation>两台电脑上的处理不同</translation>
    </message>
    <message>
        <source>Apply the edit to %1, the record it was merged into</source>
        <translation>将修改应用到合并后的客户“%1”</translation>
    </message>
    <message>
        <source>Keep the current value</source>
        <translation>保留当前值</translation>
    </message>
    <message>
        <source>Restore the overwritten value</source>
        <translation>恢复被覆盖的值</translation>
    </message>
    <message>
        <source>Keep it deleted</source>
        <translation>保持删除</translation>
    </message>
    <message>
        <source>Restore the record with the edit</source>
        <translation>恢复记录并应用修改</translation>
    </message>
    <message>
        <source>Keep both bookings</source>
        <translation>保留两个预约</translation>
    </message>
    <message>
        <source>Cancel the other booking</source>
        <translation>取消另一个预约</translation>
    </message>
    <message>
        <source>Cancel this booking</source>
        <translation>取消这个预约</translation>
    </message>
    <message>
        <source>Mark as reviewed</source>
        <translation>标记为已处理</translation>
    </message>
    <message>
        <source>Kept as it is</source>
        <translation>保持现状</translation>
    </message>
    <message>
        <source>Overwritten value restored</source>
        <translation>已恢复被覆盖的值</translation>
    </message>
    <message>
        <source>Record restored</source>
        <translation>记录已恢复</translation>
    </message>
    <message>
        <source>Edit applied to the record it was merged into</source>
        <translation>修改已应用到合并后的客户</translation>
    </message>
    <message>
        <source>Other booking cancelled</source>
        <translation>另一个预约已取消</translation>
    </message>
    <message>
        <source>This booking cancelled</source>
        <translation>这个预约已取消</translation>
    </message>
    <message>
        <source>Closed: the customer's personal data was erased</source>
        <translation>已关闭：客户个人信息已删除</translation>
    </message>
    <message>
        <source>Closed: the customer kept by the merge holds this change</source>
        <translation>已关闭：合并后保留的客户已包含这项修改</translation>
    </message>
    <message>
        <source>Closed: the later decision stands</source>
        <translation>已关闭：以后到的处理为准</translation>
    </message>
    <message>
        <source>Booked</source>
        <translation>已预约</translation>
    </message>
    <message>
        <source>Draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <source>Needs approval</source>
        <translation>需审批</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>已批准</translation>
    </message>
    <message>
        <source>Issued</source>
        <translation>已出具</translation>
    </message>
    <message>
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Option</source>
        <translation>选装</translation>
    </message>
    <message>
        <source>Accessory</source>
        <translation>精品附件</translation>
    </message>
    <message>
        <source>Insurance</source>
        <translation>保险</translation>
    </message>
    <message>
        <source>Registration</source>
        <translation>上牌服务</translation>
    </message>
    <message>
        <source>Purchase tax</source>
        <translation>购置税</translation>
    </message>
    <message>
        <source>Service fee</source>
        <translation>服务费</translation>
    </message>
    <message>
        <source>(empty)</source>
        <translation>（空）</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
    <message>
        <source>The conflict decided is not on this laptop yet.</source>
        <translation>所处理的冲突尚未同步到本机。</translation>
    </message>
    <message>
        <source>This booking: %1</source>
        <translation>这个预约：%1</translation>
    </message>
    <message>
        <source>Overlapping booking: %1</source>
        <translation>重叠的预约：%1</translation>
    </message>
    <message>
        <source>this laptop</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>unknown laptop</source>
        <translation>未知电脑</translation>
    </message>
    <message>
        <source>laptop %1</source>
        <translation>电脑 %1</translation>
    </message>
    <message>
        <source>%1 on %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>someone</source>
        <translation>某人</translation>
    </message>
    <message>
        <source>This booking is not on this laptop yet.</source>
        <translation>这个预约还没有同步到本机。</translation>
    </message>
    <message>
        <source>Demo car: %1</source>
        <translation>试驾车：%1</translation>
    </message>
    <message>
        <source>Salesperson: %1</source>
        <translation>销售顾问：%1</translation>
    </message>
    <message>
        <source>Status: %1</source>
        <translation>状态：%1</translation>
    </message>
    <message>
        <source>Revealed an ID number</source>
        <translation>查看完整证件号</translation>
    </message>
    <message>
        <source>Revealed a phone number</source>
        <translation>查看完整电话</translation>
    </message>
    <message>
        <source>Printed</source>
        <translation>打印</translation>
    </message>
    <message>
        <source>Exported personal data</source>
        <translation>导出个人信息</translation>
    </message>
    <message>
        <source>Merged customers</source>
        <translation>合并客户</translation>
    </message>
    <message>
        <source>Merge completed by the sync</source>
        <translation>同步完成的合并</translation>
    </message>
    <message>
        <source>Deleted</source>
        <translation>已删除</translation>
    </message>
    <message>
        <source>Changed a consent</source>
        <translation>变更授权</translation>
    </message>
    <message>
        <source>Changed a role</source>
        <translation>变更角色</translation>
    </message>
    <message>
        <source>Erased personal data</source>
        <translation>删除个人信息</translation>
    </message>
    <message>
        <source>Changed a user</source>
        <translation>用户变更</translation>
    </message>
    <message>
        <source>Failed sign-in</source>
        <translation>登录失败</translation>
    </message>
    <message>
        <source>Account locked</source>
        <translation>账户锁定</translation>
    </message>
    <message>
        <source>Service reminders</source>
        <translation>保养提醒</translation>
    </message>
    <message>
        <source>Care and offers</source>
        <translation>营销关怀</translation>
    </message>
    <message>
        <source>Decided a discount</source>
        <translation>审批优惠</translation>
    </message>
    <message>
        <source>Kept a printed quote, its change as a new quote</source>
        <translation>恢复已打印报价并另存修改</translation>
    </message>
    <message>
        <source>Changed own password</source>
        <translation>修改本人密码</translation>
    </message>
    <message>
        <source>given</source>
        <translation>同意</translation>
    </message>
    <message>
        <source>withdrawn</source>
        <translation>撤回</translation>
    </message>
    <message>
        <source>absorbed %1</source>
        <translation>并入 %1</translation>
    </message>
    <message>
        <source>%1 records anonymised</source>
        <translation>已匿名化 %1 条记录</translation>
    </message>
    <message>
        <source>kept over %1, merged both ways</source>
        <translation>两台电脑互相合并，保留此记录（另一条：%1）</translation>
    </message>
    <message>
        <source>%1 records moved from %2</source>
        <translation>从 %2 移来 %1 条记录</translation>
    </message>
    <message>
        <source>%1 duplicates removed</source>
        <translation>去除重复 %1 条</translation>
    </message>
    <message>
        <source>Audit trail</source>
        <translation>审计日志</translation>
    </message>
    <message>
        <source>Action:</source>
        <translation>操作：</translation>
    </message>
    <message>
        <source>All actions</source>
        <translation>全部操作</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <source>Concerning</source>
        <translation>对象</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>Load more</source>
        <translation>加载更多</translation>
    </message>
    <message>
        <source>Nothing has been recorded yet.</source>
        <translation>暂无记录。</translation>
    </message>
    <message>
        <source>The sync</source>
        <translation>同步</translation>
    </message>
    <message>
        <source>Reload the lists (F5)</source>
        <translation>重新加载列表（F5）</translation>
    </message>
    <message>
        <source>Only managers and administrators can review sync conflicts and rejected changes.</source>
        <translation>只有经理和管理员可以处理同步冲突和被拒绝的修改。</translation>
    </message>
    <message>
        <source>Conflicts</source>
        <translation>冲突</translation>
    </message>
    <message>
        <source>Rejected changes</source>
        <translation>被拒绝的修改</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>未处理</translation>
    </message>
    <message>
        <source>Resolved</source>
        <translation>已处理</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>Detected</source>
        <translation>发现时间</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>What</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>Open customer</source>
        <translation>打开客户</translation>
    </message>
    <message>
        <source>The server refused these changes made on this laptop. They were not applied anywhere; re-enter them if they are still needed, then dismiss them here.</source>
        <translation>服务器拒绝了本机的这些修改，它们没有在任何地方生效。如仍需要，请重新录入，然后在此处移除。</translation>
    </message>
    <message>
        <source>Made</source>
        <translation>修改时间</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>修改内容</translation>
    </message>
    <message>
        <source>By</source>
        <translation>修改人</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Set this change aside (Delete)</source>
        <translation>移除这条修改（Delete）</translation>
    </message>
    <message>
        <source>Managers only</source>
        <translation>仅限经理</translation>
    </message>
    <message>
        <source>Open conflicts: %1</source>
        <translation>未处理冲突：%1</translation>
    </message>
    <message>
        <source>Conflicts shown: %1</source>
        <translation>显示的冲突：%1</translation>
    </message>
    <message>
        <source>Rejected changes: %1</source>
        <translation>被拒绝的修改：%1</translation>
    </message>
    <message>
        <source>Conflicts (%1)</source>
        <translation>冲突（%1）</translation>
    </message>
    <message>
        <source>Rejected changes (%1)</source>
        <translation>被拒绝的修改（%1）</translation>
    </message>
    <message>
        <source>No open conflicts. Everything the laptops sent has been applied.</source>
        <translation>没有未处理的冲突。各台电脑发送的修改都已生效。</translation>
    </message>
    <message>
        <source>Nothing to show.</source>
        <translation>没有可显示的内容。</translation>
    </message>
    <message>
        <source>Detected %1</source>
        <translation>发现于 %1</translation>
    </message>
    <message>
        <source>Waiting for a manager's decision.</source>
        <translation>等待经理处理。</translation>
    </message>
    <message>
        <source>Closed at %1: the customer's personal data was erased.</source>
        <translation>已于 %1 关闭：客户的个人信息已删除。</translation>
    </message>
    <message>
        <source>Closed by the sync: the conflict was decided on two laptops, and the later decision stands.</source>
        <translation>已由同步关闭：这个冲突在两台电脑上都处理过，以后到的处理为准。</translation>
    </message>
    <message>
        <source>Closed by the sync: this customer's two records were merged into one, which holds this change.</source>
        <translation>已由同步关闭：这位客户的两条记录已合并为一条，其中已包含这项修改。</translation>
    </message>
    <message>
        <source>Resolved: %1 by %2 at %3</source>
        <translation>已处理：%1（%2，%3）</translation>
    </message>
    <message>
        <source>This booking</source>
        <translation>这个预约</translation>
    </message>
    <message>
        <source>Overlapping booking</source>
        <translation>时间重叠的预约</translation>
    </message>
    <message>
        <source>Merged into %1</source>
        <translation>已合并到“%1”</translation>
    </message>
    <message>
        <source>Closed: the quote was worked out again</source>
        <translation>已关闭：报价单已重新核算</translation>
    </message>
    <message>
        <source>Total %1, %2 lines</source>
        <translation>合计 %1，共 %2 项</translation>
    </message>
    <message>
        <source>Closed by the sync: the quote was changed on two laptops; its total and its approval were worked out again from its price, discount and lines.</source>
        <translation>已由同步关闭：这张报价单在两台电脑上都改过，合计和审批已按车价、优惠和明细重新核算。</translation>
    </message>
    <message>
        <source>Restored</source>
        <translation>已恢复</translation>
    </message>
    <message>
        <source>Decided first (overwritten)</source>
        <translation>先到的处理（已被覆盖）</translation>
    </message>
    <message>
        <source>Decided later (in place now)</source>
        <translation>后到的处理（现在生效）</translation>
    </message>
    <message>
        <source>The record now</source>
        <translation>记录现在的状态</translation>
    </message>
    <message>
        <source>What a restore brings back</source>
        <translation>恢复后将带回的内容</translation>
    </message>
    <message>
        <source>Now</source>
        <translation>现在</translation>
    </message>
    <message>
        <source>Before both changes</source>
        <translation>修改前</translation>
    </message>
    <message>
        <source>Overwritten (arrived first)</source>
        <translation>被覆盖的值（先到）</translation>
    </message>
    <message>
        <source>In place now (arrived later)</source>
        <translation>当前值（后到）</translation>
    </message>
    <message>
        <source>%1: %2. The decision syncs to the other laptops.</source>
        <translation>%1：%2。这个决定会同步到其他电脑。</translation>
    </message>
    <message>
        <source>The rejected change was dismissed.</source>
        <translation>已移除这条被拒绝的修改。</translation>
    </message>
    <message>
        <source>Unlock the database</source>
        <translation>解锁数据库</translation>
    </message>
    <message>
        <source>Set the admin secret</source>
        <translation>设置管理员密码</translation>
    </message>
    <message>
        <source>The customer database on this computer is encrypted and its key is not in this computer's keyring. Enter the admin secret to unlock it.</source>
        <translation>本机的客户数据库已加密，而本机的钥匙串中没有它的密钥。请输入管理员密码来解锁。</translation>
    </message>
    <message>
        <source>The customer database on this computer is encrypted. Set an admin secret: with it, an administrator can unlock the database if this computer's keyring is lost. Keep it somewhere safe, away from this computer.</source>
        <translation>本机的客户数据库已加密。请设置管理员密码：如果本机的钥匙串丢失，管理员可以用它解锁数据库。请把它保存在安全的地方，不要放在这台电脑上。</translation>
    </message>
    <message>
        <source>The key is already kept in this computer's keyring; you may skip this.</source>
        <translation>密钥已保存在本机的钥匙串中，可以跳过此步。</translation>
    </message>
    <message>
        <source>Admin secret</source>
        <translation>管理员密码</translation>
    </message>
    <message>
        <source>Repeat it</source>
        <translation>再输入一次</translation>
    </message>
    <message>
        <source>Showroom is locked</source>
        <translation>Showroom 已锁定</translation>
    </message>
    <message>
        <source>Switch user…</source>
        <translation>切换用户…</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>解锁</translation>
    </message>
    <message>
        <source>Signed in: %1 (%2). Type your password to continue.</source>
        <translation>当前用户：%1（%2）。请输入密码继续。</translation>
    </message>
    <message>
        <source>Skip</source>
        <translation>跳过</translation>
    </message>
    <message>
        <source>Enter the admin secret.</source>
        <translation>请输入管理员密码。</translation>
    </message>
    <message>
        <source>The two entries differ.</source>
        <translation>两次输入不一致。</translation>
    </message>
    <message>
        <source>Reading the customer database…</source>
        <translation>正在读取客户数据库…</translation>
    </message>
    <message>
        <source>Writing the encrypted copy…</source>
        <translation>正在写入加密副本…</translation>
    </message>
    <message>
        <source>Checking the encrypted copy against the original…</source>
        <translation>正在将加密副本与原数据逐表核对…</translation>
    </message>
    <message>
        <source>Switching to the encrypted copy…</source>
        <translation>正在切换到加密副本…</translation>
    </message>
    <message>
        <source>Encrypting the customer database</source>
        <translation>正在加密客户数据库</translation>
    </message>
    <message>
        <source>The customer database is being encrypted, once. Do not turn off the computer.</source>
        <translation>正在加密客户数据库（只需一次），请勿关闭电脑。</translation>
    </message>
    <message>
        <source>That admin secret does not unlock this database.</source>
        <translation>这个管理员密码无法解锁此数据库。</translation>
    </message>
    <message>
        <source>Gathering the customer's data…</source>
        <translation>正在汇总客户资料…</translation>
    </message>
    <message>
        <source>Export customer data</source>
        <translation>导出客户资料</translation>
    </message>
    <message>
        <source>Writing the PDF and JSON files…</source>
        <translation>正在生成 PDF 和 JSON 文件…</translation>
    </message>
    <message>
        <source>Choose a folder for the export of %1</source>
        <translation>选择保存 %1 资料的文件夹</translation>
    </message>
    <message>
        <source>Saved:
%1</source>
        <translation>已保存：
%1</translation>
    </message>
    <message>
        <source>Erase personal data</source>
        <translation>删除个人信息</translation>
    </message>
    <message>
        <source>The name, phones, e-mail, WeChat ID, address, ID number, birthday, notes and the text of contacts and follow-ups of %1 will be erased on this laptop, the server and every other laptop. Level history, counts and vehicle models are kept without anything that identifies the person. This cannot be undone.</source>
        <translation>将在本机、服务器和其他所有电脑上删除 %1 的姓名、电话、邮箱、微信号、地址、证件号码、生日、备注以及接触记录和跟进任务的文字内容。意向级别历史、统计数量和车型会保留，但不再含有任何可识别个人的信息。此操作无法撤销。</translation>
    </message>
    <message>
        <source>Type the customer's name to confirm:</source>
        <translation>请输入客户姓名以确认：</translation>
    </message>
    <message>
        <source>Erase</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>The name typed does not match the customer.</source>
        <translation>输入的姓名与该客户不一致。</translation>
    </message>
    <message>
        <source>Erasing…</source>
        <translation>正在删除…</translation>
    </message>
    <message>
        <source>Erased.</source>
        <translation>已删除。</translation>
    </message>
    <message>
        <source>Paper form</source>
        <translation>纸质表格</translation>
    </message>
    <message>
        <source>Verbally</source>
        <translation>口头</translation>
    </message>
    <message>
        <source>Record consent</source>
        <translation>记录授权</translation>
    </message>
    <message>
        <source>Purpose</source>
        <translation>用途</translation>
    </message>
    <message>
        <source>Agrees</source>
        <translation>同意</translation>
    </message>
    <message>
        <source>Withdraws / refuses</source>
        <translation>撤回 / 不同意</translation>
    </message>
    <message>
        <source>Decision</source>
        <translation>决定</translation>
    </message>
    <message>
        <source>How it was given</source>
        <translation>授权方式</translation>
    </message>
    <message>
        <source>Sign in to Showroom</source>
        <translation>登录 Showroom</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Demo database. Sign in as %1 with the password %2.</source>
        <translation>演示数据库。可用以下账户登录：%1，密码均为 %2。</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>This laptop's account %1 is now %2: the store already has a user %1.</source>
        <translation>本机账号“%1”已改名为“%2”：门店已有名为“%1”的用户。</translation>
    </message>
    <message>
        <source>Enter your user name.</source>
        <translation>请输入用户名。</translation>
    </message>
    <message>
        <source>Create the administrator</source>
        <translation>创建管理员</translation>
    </message>
    <message>
        <source>This is a new database. Create the administrator account: the administrator adds the other staff and their roles. Choose a password of at least 8 characters and keep it safe.</source>
        <translation>这是一个新的数据库。请创建管理员账户：由管理员添加其他员工并设置角色。请设置至少8个字符的密码并妥善保管。</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>您的姓名</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>再次输入密码</translation>
    </message>
    <message>
        <source>Create and sign in</source>
        <translation>创建并登录</translation>
    </message>
    <message>
        <source>The two passwords are not the same.</source>
        <translation>两次输入的密码不一致</translation>
    </message>
    <message>
        <source>Edit quote</source>
        <translation>修改报价</translation>
    </message>
    <message>
        <source>New quote</source>
        <translation>新建报价</translation>
    </message>
    <message>
        <source>Copy as new quote</source>
        <translation>复制为新报价</translation>
    </message>
    <message>
        <source>Vehicle</source>
        <translation>车型</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>选装</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>项目</translation>
    </message>
    <message>
        <source>Qty</source>
        <translation>数量</translation>
    </message>
    <message>
        <source>Unit price</source>
        <translation>单价</translation>
    </message>
    <message>
        <source>Add line</source>
        <translation>添加项目</translation>
    </message>
    <message>
        <source>Add purchase tax</source>
        <translation>计算购置税</translation>
    </message>
    <message>
        <source>Vehicle purchase tax on the price after the discount</source>
        <translation>按优惠后车价计算车辆购置税</translation>
    </message>
    <message>
        <source>Remove line</source>
        <translation>删除项目</translation>
    </message>
    <message>
        <source>Accessories and fees</source>
        <translation>精品及费用</translation>
    </message>
    <message>
        <source>Discount (CNY)</source>
        <translation>优惠（元）</translation>
    </message>
    <message>
        <source>Valid until</source>
        <translation>有效期至</translation>
    </message>
    <message>
        <source>Printed on the quote, e.g. delivery date, gifts</source>
        <translation>将打印在报价单上，例如提车时间、赠品</translation>
    </message>
    <message>
        <source>Vehicle price</source>
        <translation>厂家指导价</translation>
    </message>
    <message>
        <source>Colour and options</source>
        <translation>颜色及选装</translation>
    </message>
    <message>
        <source>Discount</source>
        <translation>优惠</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>合计</translation>
    </message>
    <message>
        <source>Margin (not printed)</source>
        <translation>毛利（不打印）</translation>
    </message>
    <message>
        <source>Choose a trim…</source>
        <translation>请选择车型…</translation>
    </message>
    <message>
        <source>New quote, copied from %1</source>
        <translation>新报价（复制自 %1）</translation>
    </message>
    <message>
        <source>Discount refused: %1</source>
        <translation>优惠未获批准：%1</translation>
    </message>
    <message>
        <source>e.g. floor mats</source>
        <translation>例如：原厂脚垫</translation>
    </message>
    <message>
        <source>Vehicle purchase tax</source>
        <translation>车辆购置税</translation>
    </message>
    <message>
        <source>Above your limit of %1: a manager must approve it before it is printed.</source>
        <translation>超过您的优惠限额 %1：须经理批准后才能打印。</translation>
    </message>
    <message>
        <source>Above the store's limit of %1: saving approves it as yours.</source>
        <translation>超过门店优惠限额 %1：保存即由您批准。</translation>
    </message>
    <message>
        <source>Copy as new…</source>
        <translation>复制为新报价…</translation>
    </message>
    <message>
        <source>A new quote with the same vehicle, options and lines, at today's prices</source>
        <translation>按当前价格新建一份车型、选装和费用项目相同的报价</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>批准</translation>
    </message>
    <message>
        <source>Reject…</source>
        <translation>驳回…</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <source>Print…</source>
        <translation>打印…</translation>
    </message>
    <message>
        <source>Save PDF…</source>
        <translation>保存 PDF…</translation>
    </message>
    <message>
        <source>Void</source>
        <translation>作废</translation>
    </message>
    <message>
        <source>Keep as printed…</source>
        <translation>恢复打印版…</translation>
    </message>
    <message>
        <source>Put the quote back as the customer's copy, and keep the change as a new quote</source>
        <translation>将报价单恢复为客户手中的版本，并把改动另存为新报价</translation>
    </message>
    <message>
        <source>No quotes yet. Make the first one with New quote.</source>
        <translation>还没有报价。点击“新建报价”开始。</translation>
    </message>
    <message>
        <source>Number</source>
        <translation>报价单号</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Margin</source>
        <translation>毛利</translation>
    </message>
    <message>
        <source>Changed after printing</source>
        <translation>打印后被改动</translation>
    </message>
    <message>
        <source>In the customer's hands or voided: copy it as a new quote instead</source>
        <translation>报价单已交给客户或已作废，不能修改；请复制为新报价</translation>
    </message>
    <message>
        <source>Changed on another laptop after it was printed: keep it as printed first</source>
        <translation>打印后在另一台电脑上被修改：请先恢复打印版</translation>
    </message>
    <message>
        <source>Needs a manager's approval of the discount before it is printed</source>
        <translation>优惠须经理批准后才能打印</translation>
    </message>
    <message>
        <source>Expired: edit it to set a new date</source>
        <translation>已过期：请修改有效期</translation>
    </message>
    <message>
        <source>Expired: copy it as a new quote</source>
        <translation>已过期：请复制为新报价</translation>
    </message>
    <message>
        <source>A voided quote is not printed</source>
        <translation>已作废的报价不能打印</translation>
    </message>
    <message>
        <source>Changed on another laptop after it was printed: printed total %1, now %2. The customer's copy stands; keep the quote as printed and the change becomes a new quote.</source>
        <translation>打印后在另一台电脑上被修改：打印时合计 %1，现为 %2。以客户手中的报价单为准；恢复打印版后，改动将另存为新报价。</translation>
    </message>
    <message>
        <source>Discount %1 is above the limit of %2: needs a manager's approval.</source>
        <translation>优惠 %1 超过限额 %2：需经理审批。</translation>
    </message>
    <message>
        <source>Expired: it was valid until %1. Edit it to set a new date.</source>
        <translation>已过期（有效期至 %1）。请修改有效期。</translation>
    </message>
    <message>
        <source>Expired: it was valid until %1. The customer's copy cannot change: copy it as a new quote, at today's prices.</source>
        <translation>已过期（有效期至 %1）。客户手中的报价单不能改动，请按当前价格复制为新报价。</translation>
    </message>
    <message>
        <source>Discount approved by %1</source>
        <translation>优惠已由%1批准</translation>
    </message>
    <message>
        <source>Margin %1 (%2%), not printed</source>
        <translation>毛利 %1（%2%），不打印</translation>
    </message>
    <message>
        <source>Reject the discount</source>
        <translation>驳回优惠</translation>
    </message>
    <message>
        <source>Reason, for the salesperson</source>
        <translation>驳回原因（销售顾问可见）</translation>
    </message>
    <message>
        <source>Void quote</source>
        <translation>作废报价</translation>
    </message>
    <message>
        <source>Void quote %1? It can no longer be printed.</source>
        <translation>作废报价 %1？作废后不能再打印。</translation>
    </message>
    <message>
        <source>Keep as printed</source>
        <translation>恢复打印版</translation>
    </message>
    <message>
        <source>Put quote %1 back as the customer's copy? The change made on another laptop is kept as a new quote.</source>
        <translation>将报价单 %1 恢复为客户手中的版本？在另一台电脑上所做的改动将另存为新报价。</translation>
    </message>
    <message>
        <source>Done: %1</source>
        <translation>已完成：%1</translation>
    </message>
    <message>
        <source>Print quote</source>
        <translation>打印报价单</translation>
    </message>
    <message>
        <source>Save quote as PDF</source>
        <translation>将报价单保存为 PDF</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <source>Change password</source>
        <translation>修改密码</translation>
    </message>
    <message>
        <source>Signed in as %1.</source>
        <translation>当前登录：%1。</translation>
    </message>
    <message>
        <source>At least %1 characters</source>
        <translation>至少%1个字符</translation>
    </message>
    <message>
        <source>Current password</source>
        <translation>当前密码</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>新密码</translation>
    </message>
    <message>
        <source>Repeat the new password</source>
        <translation>再次输入新密码</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>请输入当前密码。</translation>
    </message>
    <message>
        <source>The two new passwords are not the same.</source>
        <translation>两次输入的新密码不一致。</translation>
    </message>
    <message>
        <source>That is not your current password.</source>
        <translation>当前密码不正确。</translation>
    </message>
</context>
<context>
    <name>CompleteFollowUpDialog</name>
    <message>
        <source>Complete follow-up</source>
        <translation>完成跟进</translation>
    </message>
    <message>
        <source>%1 · due %2</source>
        <translation>%1 · 到期 %2</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>What came of it, e.g. booked a test drive</source>
        <translation>跟进结果，例如：已约试驾</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Schedule next follow-up</source>
        <translation>安排下次跟进</translation>
    </message>
    <message>
        <source>Working out the proposed date…</source>
        <translation>正在计算建议日期…</translation>
    </message>
    <message>
        <source>Next follow-up on</source>
        <translation>下次跟进日期</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message numerus="yes">
        <source>Proposed from level %1 cadence: every %n day(s)</source>
        <translation>
            <numerusform>按%1级跟进周期建议：每%n天</numerusform>
        </translation>
    </message>
    <message>
        <source>Level %1 has no follow-up cadence. Pick a date if you want one.</source>
        <translation>%1级没有跟进周期。如需跟进请选择日期。</translation>
    </message>
    <message>
        <source>This customer has no intent level. Pick a date if you want one.</source>
        <translation>该客户尚无意向级别。如需跟进请选择日期。</translation>
    </message>
    <message>
        <source>Outcome is required. Describe what came of this follow-up.</source>
        <translation>请填写跟进结果。</translation>
    </message>
    <message>
        <source>The follow-up could not be saved.</source>
        <translation>跟进未能保存。</translation>
    </message>
</context>
<context>
    <name>CustomersPage</name>
    <message>
        <source>Customers</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>New customer</source>
        <translation>新建客户</translation>
    </message>
    <message>
        <source>Add a customer (Ctrl+N)</source>
        <translation>新建客户（Ctrl+N）</translation>
    </message>
    <message>
        <source>Search by name, phone, plate or VIN</source>
        <translation>按姓名、电话、车牌或车架号搜索</translation>
    </message>
    <message>
        <source>Type two characters or more. ↓ moves to the results, Enter opens one.</source>
        <translation>至少输入两个字符。按↓进入结果，按回车打开。</translation>
    </message>
    <message>
        <source>All levels</source>
        <translation>全部级别</translation>
    </message>
    <message>
        <source>H and A · hot leads</source>
        <translation>H级和A级 · 热线索</translation>
    </message>
    <message>
        <source>All stages</source>
        <translation>全部阶段</translation>
    </message>
    <message>
        <source>VIP only</source>
        <translation>仅VIP</translation>
    </message>
    <message>
        <source>Follow-up overdue</source>
        <translation>跟进逾期</translation>
    </message>
    <message>
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>级别</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>阶段</translation>
    </message>
    <message>
        <source>Salesperson</source>
        <translation>销售顾问</translation>
    </message>
    <message>
        <source>All salespeople</source>
        <translation>全部销售顾问</translation>
    </message>
    <message>
        <source>My customers</source>
        <translation>我的客户</translation>
    </message>
    <message>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <source>Type at least two characters</source>
        <translation>请至少输入两个字符</translation>
    </message>
    <message>
        <source>Searching all customers; filters are off</source>
        <translation>正在搜索全部客户，筛选条件暂不生效</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>搜索中…</translation>
    </message>
    <message>
        <source>Best %1 matches · type more to narrow</source>
        <translation>最匹配的%1条 · 继续输入可缩小范围</translation>
    </message>
    <message>
        <source>No matches</source>
        <translation>无匹配结果</translation>
    </message>
    <message>
        <source>1 match</source>
        <translation>1条结果</translation>
    </message>
    <message>
        <source>%1 matches</source>
        <translation>%1条结果</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <source>1 customer</source>
        <translation>1位客户</translation>
    </message>
    <message>
        <source>%1 customers</source>
        <translation>%1位客户</translation>
    </message>
    <message>
        <source>No customer matches “%1”.
Check the spelling, or add a new customer.</source>
        <translation>没有与“%1”匹配的客户。
请检查输入，或新建客户。</translation>
    </message>
    <message>
        <source>No customers match these filters.</source>
        <translation>没有符合筛选条件的客户。</translation>
    </message>
    <message>
        <source>No customers yet.
Add the first one with “New customer” (Ctrl+N).</source>
        <translation>还没有客户。
点击“新建客户”（Ctrl+N）添加第一位。</translation>
    </message>
</context>
<context>
    <name>FollowUpsPage</name>
    <message>
        <source>My follow-ups</source>
        <translation>我的跟进</translation>
    </message>
    <message>
        <source>Loading your follow-ups…</source>
        <translation>正在加载跟进任务…</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Open customer</source>
        <translation>打开客户</translation>
    </message>
    <message>
        <source>Complete…</source>
        <translation>完成…</translation>
    </message>
    <message>
        <source>Reload the list (F5)</source>
        <translation>重新加载列表（F5）</translation>
    </message>
    <message>
        <source>Open the customer (Enter or double-click)</source>
        <translation>打开客户（回车或双击）</translation>
    </message>
    <message>
        <source>Record the outcome and plan the next one (Ctrl+Enter)</source>
        <translation>记录结果并安排下次跟进（Ctrl+回车）</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Purpose</source>
        <translation>事项</translation>
    </message>
    <message>
        <source>Due</source>
        <translation>到期日</translation>
    </message>
    <message>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <source>Owner</source>
        <translation>负责人</translation>
    </message>
    <message>
        <source>No follow-ups due today. Well done.</source>
        <translation>今天没有待跟进的任务，做得好。</translation>
    </message>
    <message>
        <source>New tasks appear here on the day they are due.</source>
        <translation>新任务会在到期当天显示在这里。</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>%1 · Due today: %2 · Overdue: %3</source>
        <translation>%1 · 今日到期：%2 · 逾期：%3</translation>
    </message>
    <message numerus="yes">
        <source>%n day(s)</source>
        <translation>
            <numerusform>%n天</numerusform>
        </translation>
    </message>
    <message>
        <source>Due today</source>
        <translation>今日到期</translation>
    </message>
    <message>
        <source>Follow-up with %1 is done. The next one is due on %2.</source>
        <translation>已完成对%1的跟进，下次跟进日期为%2。</translation>
    </message>
    <message>
        <source>Follow-up with %1 is done. No next follow-up is scheduled.</source>
        <translation>已完成对%1的跟进，未安排下次跟进。</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Working as</source>
        <translation>当前用户</translation>
    </message>
    <message>
        <source>Read-only</source>
        <translation>只读</translation>
    </message>
    <message>
        <source>Hidden</source>
        <translation>隐藏</translation>
    </message>
    <message>
        <source>Other salespeople's customers</source>
        <translation>其他销售顾问的客户</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分钟</translation>
    </message>
    <message>
        <source>Lock after idle</source>
        <translation>闲置后锁屏</translation>
    </message>
    <message>
        <source>A larger discount on a quote needs a manager's approval before it is printed.</source>
        <translation>报价优惠超过此金额时，须经理审批后才能打印。</translation>
    </message>
    <message>
        <source>Discount limit (CNY)</source>
        <translation>优惠审批额度（元）</translation>
    </message>
    <message>
        <source>Only a manager or an admin can change the store's rules.</source>
        <translation>门店规则只有经理或管理员可以修改。</translation>
    </message>
    <message>
        <source>Database file</source>
        <translation>数据库文件</translation>
    </message>
    <message>
        <source>Enter an amount, for example 3000.</source>
        <translation>请输入金额，例如 3000。</translation>
    </message>
</context>
</TS>